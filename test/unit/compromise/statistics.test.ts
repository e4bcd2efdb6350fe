import { logGamma, poissonTail, scanWindows, surprise, type Marker, type Sighting } from '../../../src/compromise/statistics';

/** P(X ≥ k) by the textbook sum 1 − Σ_{i<k} e^−λ λ^i / i!, for moderate values where it is exact enough. */
function directTail(k: number, lambda: number): number {
  let term = Math.exp(-lambda);
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= lambda / (i + 1);
  }
  return 1 - below;
}

/** P(X ≥ k) by summing the upper terms, for tails too small for 1 − (…). */
function upperSum(k: number, lambda: number): number {
  let logTerm = -lambda + k * Math.log(lambda) - logGamma(k + 1);
  let sum = 0;
  for (let i = k; i < k + 400; i++) {
    sum += Math.exp(logTerm);
    logTerm += Math.log(lambda) - Math.log(i + 1);
  }
  return sum;
}

describe('poissonTail', () => {
  it('matches the direct sum', () => {
    // 1 − e^−0.1 (1 + 0.1 + 0.005) = 1.546e-4, computed by hand
    expect(poissonTail(3, 0.1)).toBeCloseTo(1 - Math.exp(-0.1) * 1.105, 12);
    for (const [k, lambda] of [[1, 0.5], [2, 3], [5, 4.2], [10, 12], [20, 15], [40, 30]] as const) {
      expect(poissonTail(k, lambda)).toBeCloseTo(directTail(k, lambda), 10);
    }
  });

  it('keeps its precision in the far tail', () => {
    for (const [k, lambda] of [[9, 0.4], [30, 2], [60, 10]] as const) {
      const expected = upperSum(k, lambda);
      expect(Math.abs(poissonTail(k, lambda) - expected) / expected).toBeLessThan(1e-9);
    }
  });

  it('is 1 for k ≤ 0 and 0 for λ = 0 with k > 0', () => {
    expect(poissonTail(0, 5)).toBe(1);
    expect(poissonTail(3, 0)).toBe(0);
  });

  it('surprise is −log10 of the tail, capped', () => {
    expect(surprise(1e-6)).toBeCloseTo(6, 12);
    expect(surprise(0)).toBe(50);
    expect(surprise(1)).toBe(0);
  });
});

const DAY = 86_400_000;

describe('scanWindows', () => {
  /** A point seen by `perDay` distinct new cards a day for `days` days. */
  function traffic(days: number, perDay: number, prefix = 'c'): Sighting[] {
    const out: Sighting[] = [];
    for (let d = 0; d < days; d++) for (let i = 0; i < perDay; i++) out.push({ id: `${prefix}${d}-${i}`, atMs: d * DAY + i * 60_000 });
    return out;
  }

  it('finds the window where the victims cluster and counts its distinct visitors', () => {
    const sightings = traffic(30, 20);
    // Victims: 6 of the cards seen on days 10–14, plus 2 scattered ones.
    const victimIds = ['c10-1', 'c11-2', 'c12-3', 'c12-4', 'c13-5', 'c14-6', 'c2-1', 'c25-1'];
    const markers: Marker[] = victimIds.map((id) => ({ id, atMs: sightings.find((s) => s.id === id)!.atMs, weight: 1 }));
    const result = scanWindows(markers, sightings, { minMarkers: 3, maxWindowMs: 28 * DAY, baseRate: 0.001 })!;
    expect(result.markers).toBe(6);
    expect(result.fromMs).toBe(10 * DAY + 60_000);
    expect(result.untilMs).toBe(14 * DAY + 6 * 60_000 + 3_600_000);
    // Days 10–14 from the first victim's minute to an hour after the last one's.
    const inside = sightings.filter((s) => s.atMs >= result.fromMs && s.atMs < result.untilMs).length;
    expect(result.traffic).toBe(inside);
    expect(result.expected).toBeCloseTo(inside * 0.001, 12);
    expect(result.tail).toBeCloseTo(poissonTail(6, inside * 0.001), 15);
    expect(result.correctedTail).toBeCloseTo(result.tail * result.windowsTried, 15);
  });

  it('counts a victim once however often it came, and repeat visitors once', () => {
    const sightings: Sighting[] = [];
    for (let d = 0; d < 5; d++) for (const id of ['a', 'b', 'c', 'd']) sightings.push({ id, atMs: d * DAY });
    const markers: Marker[] = [0, 1, 2, 3, 4].map((d) => ({ id: 'a', atMs: d * DAY, weight: 1 }));
    markers.push({ id: 'b', atMs: 2 * DAY, weight: 1 });
    const result = scanWindows(markers, sightings, { minMarkers: 2, maxWindowMs: 10 * DAY, baseRate: 0.01 })!;
    expect(result.markers).toBe(2);
    expect(result.traffic).toBeLessThanOrEqual(4);
  });

  it('does not flag a busy point whose victims match its traffic', () => {
    const sightings = traffic(30, 400);
    // 1 % of its visitors became victims, the base rate itself.
    const markers: Marker[] = sightings.filter((_, i) => i % 100 === 0).map((s) => ({ id: s.id, atMs: s.atMs, weight: 1 }));
    const result = scanWindows(markers, sightings, { minMarkers: 3, maxWindowMs: 28 * DAY, baseRate: 0.01 })!;
    expect(result.correctedTail).toBeGreaterThan(0.01);
  });

  it('weights suspected victims and needs the minimum weight', () => {
    const sightings = traffic(3, 10);
    const markers: Marker[] = ['c0-1', 'c1-1', 'c2-1'].map((id, i) => ({ id, atMs: i * DAY + 60_000, weight: 0.5 }));
    expect(scanWindows(markers, sightings, { minMarkers: 2, maxWindowMs: 10 * DAY, baseRate: 0.01 })).toBeUndefined();
    markers.push({ id: 'c2-2', atMs: 2 * DAY + 120_000, weight: 1 });
    // k is floored for the tail: of the windows with k = 2, the one with the least traffic wins.
    expect(scanWindows(markers, sightings, { minMarkers: 2, maxWindowMs: 10 * DAY, baseRate: 0.01 })?.markers).toBe(2);
  });

  it('counts every transaction when asked (fraud at the point)', () => {
    const sightings: Sighting[] = [0, 1, 2, 3].map((i) => ({ id: 'same-card', atMs: i * 60_000 }));
    const markers: Marker[] = [0, 1, 2].map((i) => ({ id: `t${i}`, atMs: i * 60_000, weight: 1 }));
    const result = scanWindows(markers, sightings, { minMarkers: 3, maxWindowMs: DAY, baseRate: 0.001, countSightings: true })!;
    expect(result.traffic).toBe(4);
  });
});
