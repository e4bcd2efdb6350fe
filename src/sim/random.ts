/**
 * The simulator's seeded randomness. Math.random cannot be seeded, and byte-identical output from the same seed is
 * the simulator's contract, so every draw goes through a `Random` made from the seed (sfc32, seeded by splitmix32).
 */

/** splitmix32: spreads a seed and a stream name into well-mixed 32-bit words. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a of a string: turns a stream name ("population", "case-17") into a number to mix with the seed. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  /**
   * Independent streams per purpose (`new Random(seed, 'population')`, `new Random(seed, 'case-17')`): changing how
   * many draws one part makes never shifts the draws of another, so e.g. a longer run keeps the same population.
   */
  constructor(seed: number, stream = '') {
    const mix = splitmix32((Math.trunc(seed) ^ Math.imul(hashString(stream), 0x27d4eb2d)) >>> 0);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix() | 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    // sfc32 (Chris Doty-Humphrey): 128-bit state, passes PractRand, a handful of integer ops per draw.
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max] (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal;
      this.spareNormal = undefined;
      return spare;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal given its median and the sigma of its logarithm: amounts, delays and rates are all skewed this way. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 40) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    // Knuth's method: exact, and cheap for the small means the simulator mostly draws.
    const limit = Math.exp(-mean);
    let count = 0;
    let product = this.next();
    while (product > limit) {
      count++;
      product *= this.next();
    }
    return count;
  }

  /**
   * Index drawn from a cumulative weight table (as built by `cumulative`). With `from`/`to`, draws from the slice
   * [from, to) of an array holding many tables side by side (one per customer), each a running sum from zero, and
   * returns the index relative to `from`.
   */
  weighted(cumulativeWeights: ArrayLike<number>, from = 0, to = cumulativeWeights.length): number {
    const target = this.next() * cumulativeWeights[to - 1];
    let lo = from;
    let hi = to - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulativeWeights[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return lo - from;
  }
}

/** Running sums of weights, the table `Random.weighted` draws from. */
export function cumulative(weights: readonly number[]): Float64Array {
  const sums = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    total += weights[i];
    sums[i] = total;
  }
  return sums;
}
