/**
 * Alert suppression: a card under attack yields one alert per period, unless the action escalates (review → block).
 * Periods run in event time, so a replay or backtest suppresses exactly as the live run did. A redelivered
 * transaction whose alert already owns the period is allowed again: the first attempt may have crashed before the
 * broker acknowledged it, and the deterministic alertId lets downstream deduplicate.
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
}

export type SuppressionVerdict = 'new' | 'escalated' | 'redelivered' | 'suppressed';

/** The pure rule, shared by the in-memory store and (line for line) the Redis script. */
export function suppressionVerdict(record: SuppressionRecord | undefined, candidate: SuppressionCandidate, periodMs: number): SuppressionVerdict {
  if (record === undefined) return 'new';
  if (record.alertId === candidate.alertId) return 'redelivered';
  if (candidate.level > record.level) return 'escalated';
  if (candidate.eventTimeMs >= record.sinceMs + periodMs || candidate.eventTimeMs < record.sinceMs - periodMs) return 'new';
  return 'suppressed';
}

export const actionLevel = (action: 'review' | 'block'): number => (action === 'block' ? 2 : 1);

export interface AlertSuppressor {
  /** Verdicts in input order; records the alerts it lets through. */
  check(candidates: readonly SuppressionCandidate[]): Promise<SuppressionVerdict[]>;
}

/** For the embedded mode and backtests. Bounded: the oldest cards are forgotten past `maxCards`. */
export function createMemorySuppressor(periodMs: number, maxCards = 100_000): AlertSuppressor {
  const records = new Map<string, SuppressionRecord>();
  return {
    async check(candidates) {
      return candidates.map((candidate) => {
        const record = records.get(candidate.cardToken);
        const verdict = suppressionVerdict(record, candidate, periodMs);
        if (verdict === 'new' || verdict === 'escalated') {
          records.delete(candidate.cardToken);
          records.set(candidate.cardToken, { sinceMs: candidate.eventTimeMs, level: candidate.level, alertId: candidate.alertId });
          if (records.size > maxCards) records.delete(records.keys().next().value as string);
        }
        return verdict;
      });
    },
  };
}
