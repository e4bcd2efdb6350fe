import { DAY_MS, HOUR_MS, LAYOUTS, spanOf } from './layout';

export interface StateOptions {
  /**
   * How far behind an entity's newest event a transaction may arrive and still be counted (in its own buckets).
   * Older ones are counted as nothing and reported (`tooOld`, telemetry `state.too_old`). It also bounds how long
   * terminals, merchants, accounts, devices and IPs remember transaction ids for deduplication.
   */
  allowedLatenessMs: number;
  /** Amounts at or below this (major units) count as small: card testing probes. */
  smallAmountLimit: number;
  /** The z-score divides by at least this standard deviation (major units), so a new card's first amounts do not explode. */
  amountStdFloor: number;
  /** The amount ratio divides by at least this mean (major units). */
  amountMeanFloor: number;
}

export const DEFAULT_STATE_OPTIONS: Readonly<StateOptions> = {
  allowedLatenessMs: HOUR_MS,
  smallAmountLimit: 1000,
  amountStdFloor: 1000,
  amountMeanFloor: 1000,
};

/** First-seen places and the card's recent transaction references are kept this long (event time). */
export const STATE_HORIZON_MS = 30 * DAY_MS;

/** Every key expires this long after its last write: the longest ring span plus a day's margin. */
export function stateTtlMs(): number {
  const longest = Math.max(...Object.values(LAYOUTS).flatMap((layout) => layout.tiers.map(spanOf)));
  return Math.max(longest, STATE_HORIZON_MS) + DAY_MS;
}

export function resolveOptions(options: Partial<StateOptions> = {}): StateOptions {
  const resolved = { ...DEFAULT_STATE_OPTIONS, ...options };
  if (!(resolved.allowedLatenessMs >= 0 && resolved.allowedLatenessMs < STATE_HORIZON_MS)) {
    throw new RangeError(`allowedLatenessMs must be from 0 to less than ${STATE_HORIZON_MS} (the state horizon)`);
  }
  for (const key of ['smallAmountLimit', 'amountStdFloor', 'amountMeanFloor'] as const) {
    if (!(resolved[key] >= 0 && Number.isFinite(resolved[key]))) throw new RangeError(`${key} must be a finite number >= 0`);
  }
  if (resolved.amountStdFloor === 0 || resolved.amountMeanFloor === 0) {
    throw new RangeError('amountStdFloor and amountMeanFloor must be above 0 (they are divisors)');
  }
  return resolved;
}
