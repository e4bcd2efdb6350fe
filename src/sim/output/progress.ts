/**
 * The progress line on stderr. On a terminal one line is redrawn in place with a bar; when stderr is a file or a
 * pipe (CI logs), a plain line is appended every few seconds instead, so logs stay readable.
 */
import type { DriveProgress } from './drive';

export interface ProgressScope {
  startMs: number;
  endMs: number;
  maxTransactions: number;
}

const number = new Intl.NumberFormat('en-US');

export function progressFraction(progress: DriveProgress, scope: ProgressScope): number {
  const bySimTime = (progress.simTimeMs - scope.startMs) / (scope.endMs - scope.startMs);
  const byCount = Number.isFinite(scope.maxTransactions) ? progress.transactions / scope.maxTransactions : 0;
  return Math.min(1, Math.max(0, bySimTime, byCount));
}

export function progressLine(progress: DriveProgress, scope: ProgressScope, withBar: boolean): string {
  const fraction = progressFraction(progress, scope);
  const width = 24;
  const filled = Math.round(fraction * width);
  const bar = withBar ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
  const day = Math.min(Math.ceil((scope.endMs - scope.startMs) / 86_400_000), Math.floor((progress.simTimeMs - scope.startMs) / 86_400_000) + 1);
  const perSecond = progress.elapsedMs > 0 ? Math.round(((progress.transactions + progress.labels) * 1000) / progress.elapsedMs) : 0;
  return `${bar}${Math.floor(fraction * 100)}% · day ${Math.max(1, day)} · ${number.format(progress.transactions)} transactions · ${number.format(progress.labels)} labels · ${number.format(perSecond)} msg/s`;
}

export interface ProgressReporter {
  update(progress: DriveProgress): void;
  finish(progress: DriveProgress): void;
}

export function createProgressReporter(
  out: { write(text: string): unknown; isTTY?: boolean },
  scope: ProgressScope,
  now: () => number = () => performance.now(),
): ProgressReporter {
  const tty = out.isTTY === true;
  const intervalMs = tty ? 200 : 5000;
  let lastAt = now();
  return {
    update(progress) {
      const at = now();
      if (at - lastAt < intervalMs) return;
      lastAt = at;
      out.write(tty ? `\r${progressLine(progress, scope, true)}\x1b[K` : `${progressLine(progress, scope, false)}\n`);
    },
    finish(progress) {
      out.write(tty ? `\r${progressLine(progress, scope, true)}\x1b[K\n` : `${progressLine(progress, scope, false)}\n`);
    },
  };
}
