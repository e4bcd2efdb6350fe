/**
 * How good compromise detection was, against the simulator's ground truth (truth.ndjson): the metrics of
 * ../shared/notes/compromise-detection.md §5. Pure apart from reading the truth file.
 *
 * M1 latency: days from breach start, and from the 3rd victim's label, to the first compromised-point alert that
 *    names the breached point; breaches never detected are censored at their end + 30 days (not dropped).
 * M2 points: breached points found (alerted before their end + 30 days), precision of the alerted points, and false
 *    point alerts per week per 10,000 points seen in the traffic.
 * M3 cards: of the exposed cards not yet defrauded when their point was found (all of them when it was not), the
 *    share warned before their first fraudulent use (or at all, when never used); the share of warned cards truly
 *    exposed; the share of the exposed cards' fraud amount that came after their warning.
 *
 * A breach at one terminal is found by an alert on that terminal or on its merchant; a breach of a whole merchant
 * by an alert on the merchant or any of its terminals.
 */
import type { AlertMessage } from '../contract/schemas';
import type { CardLabel, CardTransaction } from '../contract/transaction';
import { lines } from '../offline/sources';
import { DAY_MS, pointsOf, type PointKey } from './store';

export interface TruthPoint {
  pointId: string;
  scenario: string;
  merchantId: string;
  terminalId?: string;
  fromMs: number;
  untilMs: number;
}

export interface Truth {
  points: TruthPoint[];
  /** Fraud transaction id → its point (point-of-compromise and fraudulent-merchant fraud only). */
  fraudPoint: Map<string, string>;
  /** Exposure transaction id → breached point. */
  exposurePoint: Map<string, string>;
}

export async function readTruth(path: string): Promise<Truth> {
  const truth: Truth = { points: [], fraudPoint: new Map(), exposurePoint: new Map() };
  for await (const [, line] of lines(path)) {
    const entry = JSON.parse(line) as Record<string, string | undefined>;
    if (entry.type === 'point') {
      truth.points.push({
        pointId: entry.pointId!,
        scenario: entry.scenario!,
        merchantId: entry.merchantId!,
        ...(entry.terminalId !== undefined ? { terminalId: entry.terminalId } : {}),
        fromMs: Date.parse(entry.from!),
        untilMs: Date.parse(entry.until!),
      });
    } else if (entry.type === 'fraud' && entry.pointId !== undefined) truth.fraudPoint.set(entry.transactionId!, entry.pointId);
    else if (entry.type === 'exposure' && entry.pointId !== undefined) truth.exposurePoint.set(entry.transactionId!, entry.pointId);
  }
  return truth;
}

interface Seen {
  cardToken: string;
  atMs: number;
  amount: number;
}

/** What the metrics need from the replayed traffic, gathered as it goes by (onTransaction). */
export class TruthTracker {
  readonly seen = new Map<string, Seen>();
  readonly points = new Set<PointKey>();
  readonly merchantOfTerminal = new Map<string, string>();
  firstMs = Number.POSITIVE_INFINITY;
  lastMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly truth: Truth) {}

  onTransaction(txn: CardTransaction): void {
    if (this.truth.fraudPoint.has(txn.transactionId) || this.truth.exposurePoint.has(txn.transactionId)) {
      this.seen.set(txn.transactionId, { cardToken: txn.cardToken, atMs: txn.eventTimeMs, amount: txn.amount });
    }
    for (const point of pointsOf(txn)) this.points.add(point);
    if (txn.terminalId !== undefined && txn.merchantId !== undefined) this.merchantOfTerminal.set(txn.terminalId, txn.merchantId);
    if (txn.eventTimeMs < this.firstMs) this.firstMs = txn.eventTimeMs;
    if (txn.eventTimeMs > this.lastMs) this.lastMs = txn.eventTimeMs;
  }
}

export interface Quantiles {
  count: number;
  median: number;
  p90: number;
}

export interface CompromiseMetrics {
  /** Breaches observed to their end + 30 days (the ones measured). */
  breaches: number;
  /** Breaches that ended less than 30 days before the data does: not measured. */
  unobservedBreaches: number;
  found: number;
  foundShare: number;
  latencyFromStartDays: Quantiles;
  /** Over breaches with at least 3 labelled victims before their censoring time. */
  latencyFromThirdLabelDays: Quantiles;
  /** Breaches with fewer than 3 victims labelled in time: M1(b) cannot be measured for them. */
  withoutThirdLabel: number;
  alertedPoints: number;
  truePoints: number;
  precision: number;
  falseAlertsPerWeekPer10k: number;
  pointsSeen: number;
  weeks: number;
  fraudulentPoints: number;
  fraudulentFound: number;
  exposedCards: number;
  exposedSavable: number;
  warnedBeforeFraud: number;
  warnedBeforeFraudShare: number;
  warnings: number;
  warningsTrulyExposed: number;
  warningPrecision: number;
  exposedFraudAmount: number;
  fraudAmountAfterWarning: number;
  fraudAmountAfterWarningShare: number;
}

function quantiles(values: number[]): Quantiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);
  return { count: sorted.length, median: at(0.5), p90: at(0.9) };
}

const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);

export function scoreCompromise(truth: Truth, tracker: TruthTracker, labels: readonly CardLabel[], alerts: readonly AlertMessage[]): CompromiseMetrics {
  const pointAlerts = alerts.filter((a) => a.type === 'compromised-point' && a.point !== undefined);
  const cardAlerts = alerts.filter((a) => a.type === 'card-at-risk' && a.point !== undefined && a.cardToken !== undefined);
  const keyOf = (a: AlertMessage): PointKey => `${a.point!.kind}:${a.point!.id}`;
  const matches = (point: TruthPoint, key: PointKey): boolean => {
    const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    if (kind === 'merchant') return id === point.merchantId;
    if (point.terminalId !== undefined) return id === point.terminalId;
    return tracker.merchantOfTerminal.get(id) === point.merchantId;
  };

  // First label time per transaction (fraud labels only).
  const labelAt = new Map<string, number>();
  for (const label of labels) {
    if (label.label !== 'fraud') continue;
    const known = labelAt.get(label.transactionId);
    if (known === undefined || label.reportedAtMs < known) labelAt.set(label.transactionId, label.reportedAtMs);
  }

  // Only breaches the run observed to their end + 30 days: one that started a week before the data ends could not be
  // found in it, and counting it as missed would measure the file's length, not the detector.
  const breaches = truth.points.filter((p) => p.scenario === 'point-of-compromise' && p.untilMs + 30 * DAY_MS <= tracker.lastMs);
  const unobserved = truth.points.filter((p) => p.scenario === 'point-of-compromise').length - breaches.length;
  const fromStart: number[] = [];
  const fromThird: number[] = [];
  let found = 0;
  let withoutThird = 0;
  let exposedCards = 0;
  let savable = 0;
  let savedBefore = 0;
  let exposedAmount = 0;
  let amountAfter = 0;
  for (const breach of breaches) {
    const censorMs = breach.untilMs + 30 * DAY_MS;
    const detection = pointAlerts
      .filter((a) => matches(breach, keyOf(a)))
      .map((a) => Date.parse(a.timestamp))
      .filter((t) => t >= breach.fromMs && t <= censorMs)
      .sort((a, b) => a - b)[0];
    if (detection !== undefined) found++;
    fromStart.push(((detection ?? censorMs) - breach.fromMs) / DAY_MS);

    // Victims: cards defrauded through this breach; the first label of each.
    const victimLabel = new Map<string, number>();
    const firstFraud = new Map<string, number>();
    const fraudAmounts: Array<{ card: string; atMs: number; amount: number }> = [];
    for (const [transactionId, pointId] of truth.fraudPoint) {
      if (pointId !== breach.pointId) continue;
      const seen = tracker.seen.get(transactionId);
      if (seen === undefined) continue;
      fraudAmounts.push({ card: seen.cardToken, atMs: seen.atMs, amount: seen.amount });
      if (!firstFraud.has(seen.cardToken) || seen.atMs < firstFraud.get(seen.cardToken)!) firstFraud.set(seen.cardToken, seen.atMs);
      const at = labelAt.get(transactionId);
      if (at !== undefined && (!victimLabel.has(seen.cardToken) || at < victimLabel.get(seen.cardToken)!)) victimLabel.set(seen.cardToken, at);
    }
    const third = [...victimLabel.values()].sort((a, b) => a - b)[2];
    if (third === undefined || third > censorMs) withoutThird++;
    else fromThird.push(((detection ?? censorMs) - third) / DAY_MS);

    // Exposed cards and their warnings.
    const exposed = new Set<string>();
    for (const [transactionId, pointId] of truth.exposurePoint) {
      if (pointId !== breach.pointId) continue;
      const seen = tracker.seen.get(transactionId);
      if (seen !== undefined) exposed.add(seen.cardToken);
    }
    const warnedAt = new Map<string, number>();
    for (const alert of cardAlerts) {
      if (!exposed.has(alert.cardToken!) || !matches(breach, keyOf(alert))) continue;
      const t = Date.parse(alert.timestamp);
      if (!warnedAt.has(alert.cardToken!) || t < warnedAt.get(alert.cardToken!)!) warnedAt.set(alert.cardToken!, t);
    }
    exposedCards += exposed.size;
    for (const card of exposed) {
      const fraudMs = firstFraud.get(card);
      if (detection !== undefined && fraudMs !== undefined && fraudMs < detection) continue; // defrauded before anyone could know
      savable++;
      const warned = warnedAt.get(card);
      if (warned !== undefined && (fraudMs === undefined || warned < fraudMs)) savedBefore++;
    }
    for (const fraud of fraudAmounts) {
      if (!exposed.has(fraud.card)) continue;
      exposedAmount += fraud.amount;
      const warned = warnedAt.get(fraud.card);
      if (warned !== undefined && warned < fraud.atMs) amountAfter += fraud.amount;
    }
  }

  // Warning precision: was the card exposed at the point its warning names?
  const exposuresByCard = new Map<string, Set<string>>();
  for (const [transactionId, pointId] of truth.exposurePoint) {
    const seen = tracker.seen.get(transactionId);
    if (seen === undefined) continue;
    const set = exposuresByCard.get(seen.cardToken) ?? new Set();
    set.add(pointId);
    exposuresByCard.set(seen.cardToken, set);
  }
  const byId = new Map(truth.points.map((p) => [p.pointId, p]));
  // A card defrauded at a fraudulent point counts as exposed there: its data went through the fraudster's hands.
  for (const [transactionId, pointId] of truth.fraudPoint) {
    const seen = tracker.seen.get(transactionId);
    if (seen === undefined || byId.get(pointId)?.scenario !== 'fraudulent-merchant') continue;
    const set = exposuresByCard.get(seen.cardToken) ?? new Set();
    set.add(pointId);
    exposuresByCard.set(seen.cardToken, set);
  }
  let trulyExposed = 0;
  for (const alert of cardAlerts) {
    const ids = exposuresByCard.get(alert.cardToken!);
    if (ids !== undefined && [...ids].some((id) => matches(byId.get(id)!, keyOf(alert)))) trulyExposed++;
  }

  const alerted = new Set(pointAlerts.map(keyOf));
  const truePoints = [...alerted].filter((key) => truth.points.some((p) => matches(p, key))).length;
  const weeks = Math.max(1, (tracker.lastMs - tracker.firstMs) / (7 * DAY_MS));
  const rogues = truth.points.filter((p) => p.scenario === 'fraudulent-merchant');
  const roguesFound = rogues.filter((p) => [...alerted].some((key) => matches(p, key))).length;
  return {
    breaches: breaches.length,
    unobservedBreaches: unobserved,
    found,
    foundShare: ratio(found, breaches.length),
    latencyFromStartDays: quantiles(fromStart),
    latencyFromThirdLabelDays: quantiles(fromThird),
    withoutThirdLabel: withoutThird,
    alertedPoints: alerted.size,
    truePoints,
    precision: ratio(truePoints, alerted.size),
    falseAlertsPerWeekPer10k: (alerted.size - truePoints) / weeks / (tracker.points.size / 10_000),
    pointsSeen: tracker.points.size,
    weeks,
    fraudulentPoints: rogues.length,
    fraudulentFound: roguesFound,
    exposedCards,
    exposedSavable: savable,
    warnedBeforeFraud: savedBefore,
    warnedBeforeFraudShare: ratio(savedBefore, savable),
    warnings: cardAlerts.length,
    warningsTrulyExposed: trulyExposed,
    warningPrecision: ratio(trulyExposed, cardAlerts.length),
    exposedFraudAmount: exposedAmount,
    fraudAmountAfterWarning: amountAfter,
    fraudAmountAfterWarningShare: ratio(amountAfter, exposedAmount),
  };
}
