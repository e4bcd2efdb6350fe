/**
 * The one transformation from feature values to network inputs, shared by training and serving so the two can
 * never disagree: a signed logarithm (amounts, counts and ratios span orders of magnitude, and one wild value must
 * not saturate the network), then standardisation with the training set's mean and deviation. A missing or
 * non-finite value becomes the training mean, the neutral input.
 */

// Math.log(1 + x) rather than Math.log1p: about twice as fast in V8, and the precision log1p keeps for x near 1e-9
// is far below what a float32 network input can hold.
export function symlog(x: number): number {
  return x < 0 ? -Math.log(1 - x) : Math.log(1 + x);
}

export function inverseSymlog(y: number): number {
  return y < 0 ? 1 - Math.exp(-y) : Math.exp(y) - 1;
}

export interface Standardisation {
  /** Mean of symlog(value) per model input. */
  means: readonly number[];
  /** Standard deviation of symlog(value) per model input; never 0. */
  stds: readonly number[];
}

/** Deviations below this are treated as constant features: they carry no signal and must not divide by ~0. */
const MIN_STD = 1e-6;

/**
 * Means and deviations of symlog(value) over `rows` rows of a row-major matrix with `width` columns,
 * ignoring non-finite values. A constant column gets deviation 1 so it standardises to 0.
 */
export function fitStandardisation(matrix: ArrayLike<number>, rows: number, width: number): Standardisation {
  const sums = new Float64Array(width);
  const squares = new Float64Array(width);
  const counts = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      const raw = matrix[r * width + c];
      if (!Number.isFinite(raw)) continue;
      const v = symlog(raw);
      sums[c] += v;
      squares[c] += v * v;
      counts[c]++;
    }
  }
  const means: number[] = [];
  const stds: number[] = [];
  for (let c = 0; c < width; c++) {
    const mean = counts[c] === 0 ? 0 : sums[c] / counts[c];
    const variance = counts[c] === 0 ? 0 : Math.max(0, squares[c] / counts[c] - mean * mean);
    const std = Math.sqrt(variance);
    means.push(mean);
    stds.push(std < MIN_STD ? 1 : std);
  }
  return { means, stds };
}

/**
 * Turns feature vectors into network inputs, `width` floats per row. `sourceIndex[j]` is where model input j sits
 * in each source vector (the catalog position of the model's j-th feature).
 */
export class InputEncoder {
  readonly width: number;
  private readonly sourceIndex: Int32Array;
  private readonly means: Float64Array;
  private readonly inverseStds: Float64Array;

  constructor(sourceIndex: ArrayLike<number>, standardisation: Standardisation) {
    this.width = sourceIndex.length;
    if (standardisation.means.length !== this.width || standardisation.stds.length !== this.width) {
      throw new RangeError(`standardisation has ${standardisation.means.length} means and ${standardisation.stds.length} deviations for ${this.width} inputs`);
    }
    this.sourceIndex = Int32Array.from(sourceIndex);
    this.means = Float64Array.from(standardisation.means);
    this.inverseStds = Float64Array.from(standardisation.stds, (s) => 1 / s);
  }

  /** Writes the inputs of `source` into `out` from `offset`. */
  encodeInto(source: ArrayLike<number>, out: Float32Array, offset: number): void {
    const { width, sourceIndex, means, inverseStds } = this;
    for (let j = 0; j < width; j++) {
      const raw = source[sourceIndex[j]];
      out[offset + j] = Number.isFinite(raw) ? (symlog(raw) - means[j]) * inverseStds[j] : 0;
    }
  }

  encodeRows(sources: readonly ArrayLike<number>[]): Float32Array {
    const out = new Float32Array(sources.length * this.width);
    for (let i = 0; i < sources.length; i++) this.encodeInto(sources[i], out, i * this.width);
    return out;
  }

  /** The raw value a model input of 0 stands for: what "typical" means in an explanation. */
  typicalValue(input: number): number {
    return inverseSymlog(this.means[input]);
  }
}
