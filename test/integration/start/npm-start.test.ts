/**
 * The start path a new user takes, exactly as the README shows it: `npm start` on a clone right after `npm ci`
 * (the prestart step builds dist/ when it is missing or stale) against the real broker and a Redis of the test's
 * own, with topics created at start. Then what an operator sees when Redis goes away and comes back: readiness
 * names the failing check, the log says so once (one JSON line, not ioredis' unhandled-error noise on stderr), and
 * the service recovers by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { stackAddresses, uniqueName } from '../../support/env';
import { removeServerDir, startRedisServer, type RedisServer } from '../../support/redis-cluster';
import { readinessUntil, TEST_HMAC_KEY } from '../../support/service';

const root = join(__dirname, '..', '..', '..');

interface Started {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the first log line that `match` accepts (lines already seen count). */
  waitForLine(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function npmStart(env: NodeJS.ProcessEnv): Started {
  // detached: its own process group, so the test can signal npm, its shell and node together.
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let stdoutRest = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (stdoutRest + chunk.toString()).split('\n');
    stdoutRest = parts.pop() ?? '';
    for (const part of parts) {
      if (part.startsWith('{')) lines.push(JSON.parse(part) as Record<string, unknown>);
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    child,
    lines,
    stderr: () => stderr,
    waitForLine(match, what, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (!found) return;
          done();
          resolve(found);
        };
        const onExit = (code: number | null) => (done(), reject(new Error(`npm start exited (${code}) before ${what}; stderr: ${stderr}`)));
        const timer = setTimeout(() => (done(), reject(new Error(`no ${what} within ${timeoutMs} ms; stderr: ${stderr}`))), timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}

describe('npm start against a real Kafka and Redis', () => {
  const { kafkaBrokers } = stackAddresses();
  let redis: RedisServer;
  let service: Started | undefined;

  beforeAll(async () => {
    redis = await startRedisServer();
  });

  afterAll(async () => {
    if (service && service.child.exitCode === null) process.kill(-service.child.pid!, 'SIGKILL');
    await redis?.stop();
    if (redis) removeServerDir(redis);
  });

  it('builds, starts, becomes ready, reports a lost Redis once and recovers, and stops on SIGTERM', async () => {
    const id = uniqueName('npm-start');
    service = npmStart({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redis.url,
      PAN_HMAC_KEY: `hex:${TEST_HMAC_KEY.toString('hex')}`,
      CREATE_TOPICS: 'true',
      HTTP_PORT: '0',
      TRANSACTIONS_TOPIC: `${id}.transactions`,
      ALERTS_TOPIC: `${id}.alerts`,
      LABELS_TOPIC: `${id}.labels`,
      DLQ_TOPIC: `${id}.dlq`,
      KAFKA_GROUP_ID: `${id}.group`,
      REDIS_KEY_PREFIX: `${id}:`,
    });
    const started = await service.waitForLine((l) => l.msg === 'card-shield started', 'start line');
    expect(started.mode).toBe('kafka');
    const port = started.port as number;
    await readinessUntil(port, (status) => status === 200, 'ready');

    await redis.stop();
    const down = await readinessUntil(port, (status, body) => status === 503 && body.checks.state === false, 'not ready with state false');
    expect(down.checks.rules).toBe(true);
    await service.waitForLine((l) => l.component === 'redis' && String(l.msg).startsWith('Redis connection lost'), 'the lost-connection line');

    await redis.restart();
    await service.waitForLine((l) => l.msg === 'Redis connection restored', 'the restored line');
    await readinessUntil(port, (status) => status === 200, 'ready again');
    // One line per outage, however many reconnection attempts it took; nothing from ioredis on stderr.
    expect(service.lines.filter((l) => String(l.msg).startsWith('Redis connection lost'))).toHaveLength(1);
    expect(service.stderr()).not.toContain('[ioredis]');

    // As Ctrl-C or a container stop would: the signal goes to the whole group. npm and its shell die of it; node
    // shuts down in order, and its stdout (which it shares with npm) closes only when node has exited.
    const stdoutClosed = new Promise((resolve) => service!.child.stdout!.once('close', resolve));
    process.kill(-service.child.pid!, 'SIGTERM');
    await stdoutClosed;
    expect(service.lines.at(-1)?.msg).toBe('card-shield stopped');
  });
});
