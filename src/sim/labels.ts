/**
 * How fraud becomes known. A case (one card's fraud episode) is reported once, by a chargeback or by the customer,
 * after a delay drawn per case, or never. Decisions come from a stream seeded by the case id, so every transaction
 * of a case agrees on them without the simulator remembering cases.
 */
import type { LabelMessage } from '../contract/schemas';
import type { LabelOptions } from './options';
import { Random } from './random';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Bounds of a reporting delay: nobody reports within the hour, and card schemes cap chargebacks at 120 days. */
export const MIN_REPORT_DELAY_MS = HOUR_MS;
export const MAX_REPORT_DELAY_MS = 120 * DAY_MS;

export type ReportSource = NonNullable<LabelMessage['source']>;

export type CaseReport = { reported: false } | { reported: true; source: ReportSource; delayMs: number };

export function reportDelayMs(rng: Random, medianDays: number, sigma: number): number {
  const delay = rng.logNormal(medianDays * DAY_MS, sigma);
  return Math.round(Math.min(MAX_REPORT_DELAY_MS, Math.max(MIN_REPORT_DELAY_MS, delay)) / 1000) * 1000;
}

export function decideCaseReport(seed: number, caseId: string, options: LabelOptions): CaseReport {
  const rng = new Random(seed, caseId);
  if (rng.chance(options.unreportedShare)) return { reported: false };
  const source: ReportSource = rng.chance(options.chargebackShare) ? 'chargeback' : 'customer';
  const median = source === 'chargeback' ? options.chargebackDelayMedianDays : options.customerDelayMedianDays;
  return { reported: true, source, delayMs: reportDelayMs(rng, median, options.delaySigma) };
}

/**
 * When a case's transaction is labelled: the case's report time, but never before the transaction itself plus an
 * hour (a fraudster can keep using a card for a while after its owner called the bank).
 */
export function labelTimeMs(caseStartMs: number, report: { delayMs: number }, transactionMs: number): number {
  return Math.max(caseStartMs + report.delayMs, transactionMs + MIN_REPORT_DELAY_MS);
}
