/**
 * Evaluation metrics, the way fraud teams read them: ranking quality over all transactions (AUC ROC, average
 * precision) and what a review team that can look at only k cards a day would find (Card Precision@k).
 * Pure functions of scores and truths; `isFraud[i]` is 1 for a fraudulent transaction, 0 otherwise.
 */

export type Scores = ArrayLike<number>;
export type Truths = ArrayLike<number>;

/** Indices sorted by descending score; ties keep input order so every figure is deterministic. */
function byDescendingScore(scores: Scores): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b] - scores[a] || a - b);
}

function checkLengths(scores: Scores, isFraud: Truths): void {
  if (scores.length !== isFraud.length) throw new RangeError(`${scores.length} scores but ${isFraud.length} truths`);
}

/**
 * Area under the ROC curve: the probability that a random fraud outscores a random genuine transaction, ties
 * counting one half (Mann–Whitney U). NaN when either class is absent.
 */
export function rocAuc(scores: Scores, isFraud: Truths): number {
  checkLengths(scores, isFraud);
  const order = byDescendingScore(scores);
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < isFraud.length; i++) isFraud[i] ? positives++ : negatives++;
  if (positives === 0 || negatives === 0) return NaN;
  // Walk from the highest score down; each negative is outranked by the positives already seen.
  let outrankedPairs = 0;
  let positivesAbove = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    let tiedPositives = 0;
    let tiedNegatives = 0;
    while (end < order.length && scores[order[end]] === scores[order[start]]) {
      isFraud[order[end]] ? tiedPositives++ : tiedNegatives++;
      end++;
    }
    outrankedPairs += tiedNegatives * (positivesAbove + tiedPositives / 2);
    positivesAbove += tiedPositives;
    start = end;
  }
  return outrankedPairs / (positives * negatives);
}

export interface PrPoint {
  threshold: number;
  precision: number;
  recall: number;
}

/**
 * The precision–recall curve, one point per distinct score (alert when score >= threshold), from the highest
 * threshold down. Tied scores form one point: a threshold cannot separate them.
 */
export function precisionRecallCurve(scores: Scores, isFraud: Truths): PrPoint[] {
  checkLengths(scores, isFraud);
  const order = byDescendingScore(scores);
  let positives = 0;
  for (let i = 0; i < isFraud.length; i++) if (isFraud[i]) positives++;
  const curve: PrPoint[] = [];
  if (positives === 0) return curve;
  let truePositives = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end < order.length && scores[order[end]] === scores[order[start]]) {
      if (isFraud[order[end]]) truePositives++;
      end++;
    }
    curve.push({ threshold: scores[order[start]], precision: truePositives / end, recall: truePositives / positives });
    start = end;
  }
  return curve;
}

/** Average precision: the sum over thresholds of precision × the recall gained there (scikit-learn's definition). */
export function averagePrecision(scores: Scores, isFraud: Truths): number {
  const curve = precisionRecallCurve(scores, isFraud);
  if (curve.length === 0) return NaN;
  let ap = 0;
  let previousRecall = 0;
  for (const point of curve) {
    ap += (point.recall - previousRecall) * point.precision;
    previousRecall = point.recall;
  }
  return ap;
}

export interface ThresholdFigures {
  threshold: number;
  alerts: number;
  truePositives: number;
  /** Share of alerts that are fraud; null when nothing alerts. */
  precision: number | null;
  /** Share of frauds that alert; null when there is no fraud. */
  recall: number | null;
}

/** Alert precision and recall when every transaction scoring at or above each threshold alerts. */
export function figuresAtThresholds(scores: Scores, isFraud: Truths, thresholds: readonly number[]): ThresholdFigures[] {
  checkLengths(scores, isFraud);
  let positives = 0;
  for (let i = 0; i < isFraud.length; i++) if (isFraud[i]) positives++;
  return thresholds.map((threshold) => {
    let alerts = 0;
    let truePositives = 0;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] >= threshold) {
        alerts++;
        if (isFraud[i]) truePositives++;
      }
    }
    return {
      threshold,
      alerts,
      truePositives,
      precision: alerts === 0 ? null : truePositives / alerts,
      recall: positives === 0 ? null : truePositives / positives,
    };
  });
}

export interface CardDayInput {
  /** Day number of each transaction (e.g. floor(eventTimeMs / 86 400 000)). */
  day: ArrayLike<number>;
  card: ArrayLike<string>;
  score: Scores;
  isFraud: Truths;
  /**
   * Cards known to be compromised, with the day on which that became known (a fraud label was reported). Such a
   * card is left out of every later day: an investigator would not be shown it again.
   */
  knownCompromisedDay?: ReadonlyMap<string, number>;
}

export interface CardPrecisionDay {
  day: number;
  /** Cards with at least one transaction that day, after exclusions. */
  cards: number;
  /** Of those, cards with at least one fraudulent transaction that day. */
  fraudCards: number;
  /** Fraudulent cards among the k best-ranked. */
  detected: number;
  /** detected / k. */
  precision: number;
}

export interface CardPrecisionAtK {
  k: number;
  /** The mean over days of detected / k. */
  mean: number;
  /** The best mean a perfect ranking could reach: per day min(fraudCards, k) / k. */
  ceiling: number;
  days: CardPrecisionDay[];
}

/**
 * Card Precision@k. Each day, every card is scored by its highest transaction score that day; the k best cards
 * are what the review team looks at, and the figure is the share of them that had fraud that day. Cards detected
 * on an earlier day (fraud and in that day's top k) and cards known compromised before the day are removed, so a
 * card is counted once (Le Borgne et al., Reproducible Machine Learning for Credit Card Fraud Detection, §4.2.3).
 */
export function cardPrecisionAtK(input: CardDayInput, k: number): CardPrecisionAtK {
  const n = input.score.length;
  if (input.day.length !== n || input.card.length !== n || input.isFraud.length !== n) {
    throw new RangeError('day, card, score and isFraud must have the same length');
  }
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const perDay = new Map<number, Map<string, { score: number; fraud: boolean }>>();
  for (let i = 0; i < n; i++) {
    let cards = perDay.get(input.day[i]);
    if (!cards) perDay.set(input.day[i], (cards = new Map()));
    const card = cards.get(input.card[i]);
    if (card) {
      card.score = Math.max(card.score, input.score[i]);
      card.fraud ||= input.isFraud[i] === 1;
    } else cards.set(input.card[i], { score: input.score[i], fraud: input.isFraud[i] === 1 });
  }
  const detectedEarlier = new Set<string>();
  const days: CardPrecisionDay[] = [];
  let ceilingSum = 0;
  for (const day of [...perDay.keys()].sort((a, b) => a - b)) {
    const ranked = [...perDay.get(day)!]
      .filter(([card]) => {
        const knownOn = input.knownCompromisedDay?.get(card);
        return !detectedEarlier.has(card) && !(knownOn !== undefined && knownOn < day);
      })
      .sort(([cardA, a], [cardB, b]) => b.score - a.score || (cardA < cardB ? -1 : cardA > cardB ? 1 : 0));
    let fraudCards = 0;
    for (const [, card] of ranked) if (card.fraud) fraudCards++;
    let detected = 0;
    for (const [card, { fraud }] of ranked.slice(0, k)) {
      if (!fraud) continue;
      detected++;
      detectedEarlier.add(card);
    }
    days.push({ day, cards: ranked.length, fraudCards, detected, precision: detected / k });
    ceilingSum += Math.min(fraudCards, k) / k;
  }
  const mean = days.length === 0 ? NaN : days.reduce((sum, d) => sum + d.precision, 0) / days.length;
  return { k, mean, ceiling: days.length === 0 ? NaN : ceilingSum / days.length, days };
}
