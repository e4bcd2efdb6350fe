import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

function runMain(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--require', 'tsx/cjs', join(root, 'src', 'main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('starting with bad configuration', () => {
  it.each([
    [{ HTTP_PORT: 'eighty' }, 'HTTP_PORT'],
    [{ KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379', PAN_HMAC_KEY: 'too-short' }, 'PAN_HMAC_KEY'],
    [{ MODEL_DIR: '/nonexistent/model' }, 'MODEL_DIR'],
  ])('%j stops with exit 2 and one line naming %s', (env, variable) => {
    const result = runMain(env);
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^card-shield: configuration error: ${variable}: `));
    expect(result.stderr).not.toContain('too-short');
  });
});
