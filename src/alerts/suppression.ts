/**
 * Alert suppression: a card under attack yields one alert per period, unless the action escalates (review → block).
 * Periods run in event time, so a replay or backtest suppresses exactly as the live run did.
 *
 * It also remembers each alert it lets through as it was first published (the memo). A redelivered transaction is
 * rescored on the state as it is by then, so its alert could come out with another score or other reasons under the
 * same id; with the memo it is republished exactly as the first time (the first attempt may have crashed before the
 * broker acknowledged it, so it is published again, and the deterministic alertId lets downstream deduplicate).
 * Past the memo's lifetime a redelivery falls back to the record: allowed again while its alert owns the period.
 */
export interface SuppressionRecord {
  /** Event time of the alert that opened the period. */
  sinceMs: number;
  /** 1 = review, 2 = block. */
  level: number;
  alertId: string;
}

export interface SuppressionCandidate {
  cardToken: string;
  alertId: string;
  eventTimeMs: number;
  level: number;
  /** The alert as it would be published now (its JSON): kept as the memo when it goes through. */
  publication: string;
}

export type SuppressionVerdict = 'new' | 'escalated' | 'redelivered' | 'suppressed';

export interface SuppressionOutcome {
  verdict: SuppressionVerdict;
  /** On a redelivery whose memo is still kept: the alert as it was first published (its JSON), to publish instead. */
  firstPublication?: string;
}

/** The pure rule, shared by the in-memory store and (line for line) the Redis script. */
export function suppressionVerdict(record: SuppressionRecord | undefined, candidate: Omit<SuppressionCandidate, 'publication'>, periodMs: number): SuppressionVerdict {
  if (record === undefined) return 'new';
  if (record.alertId === candidate.alertId) return 'redelivered';
  if (candidate.level > record.level) return 'escalated';
  if (candidate.eventTimeMs >= record.sinceMs + periodMs || candidate.eventTimeMs < record.sinceMs - periodMs) return 'new';
  return 'suppressed';
}

/**
 * How long a memo is kept (wall clock): a redelivery comes after a crash, a rebalance or a broker outage, minutes
 * after the first attempt; an hour (or two suppression periods, if longer) covers those at a few hundred bytes per
 * alert.
 */
export function memoTtlMs(periodMs: number): number {
  return Math.max(3_600_000, periodMs * 2);
}

export const actionLevel = (action: 'review' | 'block'): number => (action === 'block' ? 2 : 1);

export interface AlertSuppressor {
  /** Outcomes in input order; records (and memoises) the alerts it lets through. */
  check(candidates: readonly SuppressionCandidate[]): Promise<SuppressionOutcome[]>;
}

/** For the embedded mode and backtests. Bounded: the oldest cards and memos are forgotten past `maxCards`. */
export function createMemorySuppressor(periodMs: number, maxCards = 100_000): AlertSuppressor {
  const records = new Map<string, SuppressionRecord>();
  const memos = new Map<string, string>();
  return {
    async check(candidates) {
      return candidates.map((candidate) => {
        const firstPublication = memos.get(candidate.alertId);
        if (firstPublication !== undefined) return { verdict: 'redelivered', firstPublication };
        const record = records.get(candidate.cardToken);
        const verdict = suppressionVerdict(record, candidate, periodMs);
        if (verdict === 'new' || verdict === 'escalated') {
          records.delete(candidate.cardToken);
          records.set(candidate.cardToken, { sinceMs: candidate.eventTimeMs, level: candidate.level, alertId: candidate.alertId });
          if (records.size > maxCards) records.delete(records.keys().next().value as string);
        }
        if (verdict !== 'suppressed') {
          memos.set(candidate.alertId, candidate.publication);
          if (memos.size > maxCards) memos.delete(memos.keys().next().value as string);
        }
        return { verdict };
      });
    },
  };
}
