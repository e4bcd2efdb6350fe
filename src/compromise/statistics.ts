/**
 * The detection statistic, pure. A point of purchase is suspicious when more of the cards seen there became fraud
 * victims than its own traffic explains:
 *
 *   k  victims: cards seen at the point inside a window [a, b] whose first fraud came later (within the look-back)
 *   n  distinct cards seen at the point inside [a, b]
 *   p  base rate: the share of all cards active over the horizon that became victims over it
 *   λ = n · p  victims expected there if the point were no riskier than any other
 *   tail = P(X ≥ k), X ~ Poisson(λ)
 *
 * Why Poisson: victims are rare (p is well under 1 %), cards fall victim independently of where they shop unless
 * something there leaked them, and Poisson(n·p) is the binomial(n, p) limit for small p, tighter than it in the tail
 * we test (it never understates the tail), and needs no n when n is huge (a supermarket). A big point with many honest
 * visitors gets a big λ, so a few victims there mean nothing; a small terminal where three of forty cards fell
 * victim gets λ ≈ 0.1 and a tail of 1.5e-4.
 *
 * The window is chosen from the data (a scan statistic), which makes the smallest tail over many windows look better
 * than a single test would: `scanWindows` multiplies the best tail by the number of windows it tried (Bonferroni),
 * so the threshold keeps its meaning as a false-alarm probability per point evaluated.
 */

/** ln Γ(x), Lanczos approximation (g = 7, n = 9), relative error below 1e-15 for x > 0. */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * P(X ≥ k) for X ~ Poisson(λ): the regularized lower incomplete gamma P(k, λ), by its series when λ < k + 1 and by
 * the continued fraction of the complement otherwise (Numerical Recipes §6.2). Exact to ~1e-14 relative, and still
 * meaningful for tails far below 1e-100 (the series is computed directly, not as 1 − something).
 */
export function poissonTail(k: number, lambda: number): number {
  if (!(k > 0)) return 1;
  if (!(lambda > 0)) return 0;
  const logPrefix = k * Math.log(lambda) - lambda - logGamma(k);
  if (lambda < k + 1) {
    // Series: γ(k, λ) e^λ λ^-k = Σ λ^n / (k (k+1) … (k+n))
    let term = 1 / k;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= lambda / (k + n);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    return Math.min(1, sum * Math.exp(logPrefix));
  }
  // Continued fraction for Q(k, λ) = Γ(k, λ) / Γ(k), modified Lentz.
  const tiny = 1e-300;
  let b = lambda + 1 - k;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - k);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const q = Math.exp(logPrefix + Math.log(lambda)) * h / lambda;
  return Math.min(1, Math.max(0, 1 - q));
}

/** −log10 of a tail, capped, for features and sorting (a tail of 0 underflowed: the cap). */
export function surprise(tail: number, cap = 50): number {
  if (!(tail > 0)) return cap;
  return Math.min(cap, Math.max(0, -Math.log10(tail)));
}

/**
 * A victim's visit as the scan sees it: which victim (`id`), when it was at the point, and how much the victim counts
 * (1 confirmed by a label, less when only suspected). A victim visiting several times inside a window counts once.
 */
export interface Marker {
  id: string;
  atMs: number;
  weight: number;
}

/** One card (or transaction) seen at the point. `id` identifies the card: distinct ids are what n counts. */
export interface Sighting {
  id: string;
  atMs: number;
}

export interface ScanOptions {
  /** Windows need at least this much victim weight inside them. */
  minMarkers: number;
  /** Longest window tried. */
  maxWindowMs: number;
  /** Victims per unit of traffic expected at an ordinary point (the base rate p). */
  baseRate: number;
  /** Count every sighting (transactions) rather than distinct ids (cards). */
  countSightings?: boolean;
}

export interface ScanResult {
  fromMs: number;
  untilMs: number;
  /** Victim weight inside the window (k). */
  markers: number;
  /** Distinct ids (or sightings) inside the window (n). */
  traffic: number;
  /** λ = n · p. */
  expected: number;
  /** P(X ≥ k) of the best window alone. */
  tail: number;
  /** The tail times the number of windows tried: the figure thresholds apply to. */
  correctedTail: number;
  windowsTried: number;
}

const HOUR_MS = 3_600_000;

/** The items in time order; the input itself when it already is (visit logs are read in order). */
function sortedByTime<T extends { atMs: number }>(items: readonly T[]): readonly T[] {
  for (let i = 1; i < items.length; i++) if (items[i].atMs < items[i - 1].atMs) return [...items].sort((a, b) => a.atMs - b.atMs);
  return items;
}

/** Distinct-id counting over a time-sorted sequence: each start stamps the ids it has counted, no Set per window. */
class DistinctSweep {
  private readonly ids: Int32Array;
  private readonly stamp: Int32Array;

  constructor(readonly items: ReadonlyArray<{ id: string; atMs: number }>) {
    const idOf = new Map<string, number>();
    this.ids = new Int32Array(items.length);
    items.forEach((item, i) => {
      let id = idOf.get(item.id);
      if (id === undefined) idOf.set(item.id, (id = idOf.size));
      this.ids[i] = id;
    });
    this.stamp = new Int32Array(idOf.size).fill(-1);
  }

  /** True the first time `index`'s id is seen since `start` was stamped. */
  firstSince(index: number, start: number): boolean {
    const id = this.ids[index];
    if (this.stamp[id] === start) return false;
    this.stamp[id] = start;
    return true;
  }
}

/**
 * The most surprising window: the one whose victims are least explained by its traffic. Windows start and end on
 * victims' visits (a window that does not is dominated by the one shrunk to its visits: same k, no more traffic),
 * taken per hour (visits within an hour of a boundary's first are merged into it). Each start sweeps the visits and
 * sightings after it once, so the scan is O(boundaries × (visits + sightings)) with no allocation per window.
 */
export function scanWindows(markersIn: readonly Marker[], sightingsIn: readonly Sighting[], options: ScanOptions): ScanResult | undefined {
  if (!(options.baseRate > 0) || markersIn.length === 0) return undefined;
  const markers = sortedByTime(markersIn);
  const weightOf = new Map<string, number>();
  for (const m of markers) weightOf.set(m.id, Math.max(weightOf.get(m.id) ?? 0, m.weight));
  let total = 0;
  for (const w of weightOf.values()) total += w;
  if (total < options.minMarkers) return undefined;
  const sightings = sortedByTime(sightingsIn);
  const victims = new DistinctSweep(markers);
  const visitors = new DistinctSweep(sightings);

  const bounds: number[] = [];
  for (const m of markers) if (bounds.length === 0 || m.atMs - bounds[bounds.length - 1] >= HOUR_MS) bounds.push(m.atMs);

  let best: ScanResult | undefined;
  let tried = 0;
  let firstMarker = 0;
  let firstSighting = 0;
  for (let i = 0; i < bounds.length; i++) {
    const from = bounds[i];
    while (firstMarker < markers.length && markers[firstMarker].atMs < from) firstMarker++;
    while (firstSighting < sightings.length && sightings[firstSighting].atMs < from) firstSighting++;
    let markerCursor = firstMarker;
    let sightingCursor = firstSighting;
    let traffic = 0;
    let k = 0;
    for (let j = i; j < bounds.length; j++) {
      if (bounds[j] - from > options.maxWindowMs) break;
      // The window ends an hour after its last boundary: the visits merged into that boundary are inside.
      const until = bounds[j] + HOUR_MS;
      while (markerCursor < markers.length && markers[markerCursor].atMs < until) {
        if (victims.firstSince(markerCursor, i)) k += weightOf.get(markers[markerCursor].id)!;
        markerCursor++;
      }
      while (sightingCursor < sightings.length && sightings[sightingCursor].atMs < until) {
        if (options.countSightings || visitors.firstSince(sightingCursor, i)) traffic++;
        sightingCursor++;
      }
      if (k < options.minMarkers) continue;
      tried++;
      // Each victim's visit is itself a sighting; a log that lost some (expired) still has n ≥ k.
      const n = Math.max(traffic, Math.ceil(k));
      const expected = n * options.baseRate;
      const tail = poissonTail(Math.floor(k + 1e-9), expected);
      if (best === undefined || tail < best.tail || (tail === best.tail && k > best.markers)) {
        best = { fromMs: from, untilMs: until, markers: k, traffic: n, expected, tail, correctedTail: 0, windowsTried: 0 };
      }
    }
  }
  if (best === undefined) return undefined;
  best.windowsTried = tried;
  best.correctedTail = Math.min(1, best.tail * tried);
  return best;
}
