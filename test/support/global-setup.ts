/**
 * Jest global setup of the integration project: brings the real stack up with the project's own script (or reuses
 * the one already running) and passes its addresses to the tests through the environment.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export default async function globalSetup(): Promise<void> {
  const output = execFileSync('bash', [join(root, 'scripts', 'stack-up.sh'), '--report-started'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
  });
  // stack-up prints STARTED=<names> on its last line: what this run started is what teardown stops.
  const started = /STARTED=(.*)$/m.exec(output)?.[1]?.trim() ?? '';
  mkdirSync(join(root, '.stack'), { recursive: true });
  writeFileSync(join(root, '.stack', 'started-by-jest'), started);
  for (const line of readFileSync(join(root, '.stack', 'env'), 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) process.env[match[1]] = match[2];
  }
}
