import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** Stops only what global setup started; a stack the developer brought up stays up. */
export default async function globalTeardown(): Promise<void> {
  const marker = join(root, '.stack', 'started-by-jest');
  if (!existsSync(marker)) return;
  const started = readFileSync(marker, 'utf8').trim();
  rmSync(marker);
  if (started === '') return;
  execFileSync('bash', [join(root, 'scripts', 'stack-down.sh'), ...started.split(',')], { cwd: root, stdio: 'inherit', timeout: 120_000 });
}
