import { averagePrecision, cardPrecisionAtK, figuresAtThresholds, precisionRecallCurve, rocAuc } from '../../../src/offline/metrics';

// Five transactions, frauds ranked 1st and 3rd.
const scores = [0.9, 0.8, 0.7, 0.6, 0.5];
const isFraud = [1, 0, 1, 0, 0];

describe('rocAuc', () => {
  it('is the share of (fraud, genuine) pairs ranked the right way round', () => {
    // 0.9 beats all three genuine scores, 0.7 beats two of them: 5 of 6 pairs.
    expect(rocAuc(scores, isFraud)).toBeCloseTo(5 / 6, 12);
  });

  it('counts a tie as half a pair', () => {
    // (0.5 fraud, 0.5 genuine) ties: 0.5; (0.5 fraud, 0.2 genuine): 1. Total 1.5 of 2 pairs.
    expect(rocAuc([0.5, 0.5, 0.2], [1, 0, 0])).toBeCloseTo(0.75, 12);
  });

  it('is NaN without both classes and 1 for a perfect ranking', () => {
    expect(rocAuc([0.1, 0.2], [0, 0])).toBeNaN();
    expect(rocAuc([0.1, 0.9], [0, 1])).toBe(1);
  });
});

describe('averagePrecision', () => {
  it('sums precision times the recall gained at each threshold', () => {
    // Thresholds 0.9: P=1, R=.5; 0.8: P=.5, R=.5; 0.7: P=2/3, R=1. AP = .5·1 + .5·2/3.
    expect(averagePrecision(scores, isFraud)).toBeCloseTo(0.5 + 1 / 3, 12);
  });

  it('treats tied scores as one threshold', () => {
    // Both rows alert together: P=.5 at R=1.
    expect(averagePrecision([0.4, 0.4], [1, 0])).toBeCloseTo(0.5, 12);
    expect(precisionRecallCurve([0.4, 0.4], [1, 0])).toEqual([{ threshold: 0.4, precision: 0.5, recall: 1 }]);
  });
});

describe('figuresAtThresholds', () => {
  it('gives alerts, precision and recall, with null where undefined', () => {
    expect(figuresAtThresholds(scores, isFraud, [0.75, 0.95])).toEqual([
      { threshold: 0.75, alerts: 2, truePositives: 1, precision: 0.5, recall: 0.5 },
      { threshold: 0.95, alerts: 0, truePositives: 0, precision: null, recall: 0 },
    ]);
  });
});

describe('cardPrecisionAtK', () => {
  // k = 2, three days. Hand-computed:
  // day 0: A max .9 (fraud), B .8, C .3 (fraud), D .2 → top 2 = A, B → 1 fraud card → 0.5; fraud cards 2.
  // day 1: A removed (detected on day 0), F removed (known compromised on day 0);
  //        C .7 (fraud), E .6, B .4 → top 2 = C, E → 0.5; fraud cards 1.
  // day 2: C removed (detected on day 1), F removed; only H → 0; fraud cards 0.
  // mean = (0.5 + 0.5 + 0) / 3; ceiling = (2/2 + 1/2 + 0) / 3.
  const rows: Array<[number, string, number, number]> = [
    [0, 'A', 0.9, 1],
    [0, 'A', 0.1, 0],
    [0, 'B', 0.8, 0],
    [0, 'C', 0.3, 1],
    [0, 'D', 0.2, 0],
    [1, 'A', 0.95, 1],
    [1, 'C', 0.7, 1],
    [1, 'E', 0.6, 0],
    [1, 'F', 0.99, 1],
    [1, 'B', 0.4, 0],
    [2, 'C', 0.9, 1],
    [2, 'F', 0.99, 1],
    [2, 'H', 0.2, 0],
  ];
  const input = {
    day: rows.map((r) => r[0]),
    card: rows.map((r) => r[1]),
    score: rows.map((r) => r[2]),
    isFraud: rows.map((r) => r[3]),
    knownCompromisedDay: new Map([['F', 0]]),
  };

  it('matches the hand-computed example', () => {
    const result = cardPrecisionAtK(input, 2);
    expect(result.days).toEqual([
      { day: 0, cards: 4, fraudCards: 2, detected: 1, precision: 0.5 },
      { day: 1, cards: 3, fraudCards: 1, detected: 1, precision: 0.5 },
      { day: 2, cards: 1, fraudCards: 0, detected: 0, precision: 0 },
    ]);
    expect(result.mean).toBeCloseTo(1 / 3, 12);
    expect(result.ceiling).toBeCloseTo(0.5, 12);
  });

  it('keeps a card on the day its compromise becomes known, and drops it only from the next day', () => {
    const result = cardPrecisionAtK({ ...input, knownCompromisedDay: new Map([['F', 1]]) }, 2);
    // day 1 now ranks F .99 (fraud) and C .7 (fraud) on top: 2 of 2.
    expect(result.days[1]).toEqual({ day: 1, cards: 4, fraudCards: 2, detected: 2, precision: 1 });
  });

  it('rejects a k that is not a positive integer', () => {
    expect(() => cardPrecisionAtK(input, 0)).toThrow(RangeError);
  });
});
