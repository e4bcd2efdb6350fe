/**
 * Baselines for evaluation only (never served): what a plain logistic regression and a plain gradient-boosted-trees
 * model reach on exactly the rows and features the network is trained on. A model that does not beat them is not
 * worth its complexity; the simulator's high AUCs say nothing without them.
 *
 * Both learn from a row-major matrix of raw feature values (a RowMatrix's values) and score raw rows. Pure and
 * deterministic: the same rows in the same order give the same numbers.
 */
import { solve } from './combination';
import { fitStandardisation, InputEncoder } from '../model/preprocess';

/** A fitted baseline: raw feature rows (row-major, `width` values each) in, fraud probabilities out. */
export interface Baseline {
  readonly name: string;
  score(matrix: ArrayLike<number>, rows: number): Float32Array;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

function checkShape(matrix: ArrayLike<number>, rows: number, width: number, labels?: ArrayLike<number>): void {
  if (matrix.length < rows * width) throw new RangeError(`${matrix.length} values cannot hold ${rows} rows of ${width}`);
  if (labels !== undefined && labels.length !== rows) throw new RangeError(`${rows} rows but ${labels.length} labels`);
}

// ---------------------------------------------------------------------------------------------------------------
// Logistic regression

export interface LogisticOptions {
  /** Ridge penalty λ·Σw² on the weights (not the intercept), on the summed log-loss. Default 1. */
  l2?: number;
  maxIterations?: number;
}

/**
 * L2-regularised logistic regression on the network's own input transform (symlog, then standardised with the
 * fit rows' means and deviations), fitted by Newton's method (IRLS) with step halving: the problem is convex, so
 * this finds its one optimum in a few iterations, where gradient descent would need hundreds.
 */
export function fitLogisticRegression(matrix: ArrayLike<number>, rows: number, width: number, labels: ArrayLike<number>, options: LogisticOptions = {}): Baseline {
  checkShape(matrix, rows, width, labels);
  const l2 = options.l2 ?? 1;
  const maxIterations = options.maxIterations ?? 25;
  const encoder = new InputEncoder(
    Array.from({ length: width }, (_, j) => j),
    fitStandardisation(matrix, rows, width),
  );
  const x = new Float32Array(rows * width);
  const row = new Float64Array(width);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < width; j++) row[j] = matrix[i * width + j];
    encoder.encodeInto(row, x, i * width);
  }
  // Parameters: [w_0 … w_{width-1}, intercept].
  const n = width + 1;
  let positives = 0;
  for (let i = 0; i < rows; i++) positives += labels[i];
  const rate = Math.min(Math.max(positives / Math.max(1, rows), 1e-6), 1 - 1e-6);
  let beta = new Float64Array(n);
  beta[width] = Math.log(rate / (1 - rate));
  const margin = (b: Float64Array, i: number) => {
    let z = b[width];
    const offset = i * width;
    for (let j = 0; j < width; j++) z += b[j] * x[offset + j];
    return z;
  };
  const objective = (b: Float64Array) => {
    let loss = 0;
    for (let i = 0; i < rows; i++) {
      const z = margin(b, i);
      loss += labels[i] ? softplus(-z) : softplus(z);
    }
    for (let j = 0; j < width; j++) loss += l2 * b[j] * b[j];
    return loss;
  };
  let current = objective(beta);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const gradient = new Array<number>(n).fill(0);
    const hessian = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < rows; i++) {
      const p = sigmoid(margin(beta, i));
      const residual = p - labels[i];
      const weight = Math.max(p * (1 - p), 1e-12);
      const offset = i * width;
      for (let a = 0; a < n; a++) {
        const xa = a === width ? 1 : x[offset + a];
        if (xa === 0) continue;
        gradient[a] += residual * xa;
        const wa = weight * xa;
        const hRow = hessian[a];
        for (let c = a; c < n; c++) {
          const xc = c === width ? 1 : x[offset + c];
          hRow[c] += wa * xc;
        }
      }
    }
    for (let a = 0; a < n; a++) for (let c = 0; c < a; c++) hessian[a][c] = hessian[c][a];
    for (let j = 0; j < width; j++) {
      gradient[j] += 2 * l2 * beta[j];
      hessian[j][j] += 2 * l2;
    }
    // A constant input (all zeros after standardisation) leaves a zero row only if l2 = 0: keep the system solvable.
    for (let a = 0; a < n; a++) hessian[a][a] += 1e-9;
    const step = solve(hessian, gradient);
    let scale = 1;
    let next = beta;
    let nextLoss = current;
    for (let halving = 0; halving < 30; halving++) {
      const candidate = Float64Array.from(beta, (v, j) => v - scale * step[j]);
      const loss = objective(candidate);
      if (loss <= current) {
        next = candidate;
        nextLoss = loss;
        break;
      }
      scale /= 2;
    }
    const improvement = current - nextLoss;
    beta = next;
    current = nextLoss;
    if (improvement <= 1e-9 * Math.max(1, Math.abs(current))) break;
  }
  const fitted = beta;
  return {
    name: 'logistic',
    score(input, count) {
      checkShape(input, count, width);
      const out = new Float32Array(count);
      const encoded = new Float32Array(width);
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < width; j++) row[j] = input[i * width + j];
        encoder.encodeInto(row, encoded, 0);
        let z = fitted[width];
        for (let j = 0; j < width; j++) z += fitted[j] * encoded[j];
        out[i] = sigmoid(z);
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Gradient-boosted trees

export interface BoostingOptions {
  /** Histogram bins per feature (quantiles of the fit rows), at most 256. Default 32. */
  bins?: number;
  /** Default 3. */
  maxDepth?: number;
  /** Default 100. */
  rounds?: number;
  /** Default 0.1. */
  learningRate?: number;
  /** Ridge penalty on leaf values (XGBoost's λ). Default 1. */
  l2?: number;
  /** A split must leave at least this many rows on each side. Default 20. */
  minRowsPerLeaf?: number;
}

export const DEFAULT_BOOSTING: Required<BoostingOptions> = { bins: 32, maxDepth: 3, rounds: 100, learningRate: 0.1, l2: 1, minRowsPerLeaf: 20 };

interface TreeNode {
  /** -1 for a leaf. */
  feature: number;
  /** Rows with value <= threshold go left. */
  threshold: number;
  left: number;
  right: number;
  value: number;
}

/**
 * Upper edges of up to `bins` quantile bins of each feature (the last bin is open above). Non-finite values fall in
 * bin 0 when binned and go left when scored, the same way.
 */
function binEdges(matrix: ArrayLike<number>, rows: number, width: number, bins: number): Float64Array[] {
  // Quantiles from an evenly spaced sample of rows: exact enough, and bounded in cost.
  const sampleStep = Math.max(1, Math.floor(rows / 50_000));
  const edges: Float64Array[] = [];
  for (let j = 0; j < width; j++) {
    const values: number[] = [];
    for (let i = 0; i < rows; i += sampleStep) {
      const v = matrix[i * width + j];
      if (Number.isFinite(v)) values.push(v);
    }
    values.sort((a, b) => a - b);
    const column: number[] = [];
    for (let b = 1; b < bins; b++) {
      const edge = values[Math.min(values.length - 1, Math.floor((b * values.length) / bins))];
      if (edge !== undefined && (column.length === 0 || edge > column[column.length - 1])) column.push(edge);
    }
    // The largest value is no edge: nothing lies above it to split off.
    if (column.length > 0 && column[column.length - 1] >= values[values.length - 1]) column.pop();
    edges.push(Float64Array.from(column));
  }
  return edges;
}

/** The bin of `value`: the first edge at or above it (so value <= edges[bin]), or the open top bin. */
function binOf(value: number, edges: Float64Array): number {
  if (!Number.isFinite(value)) return 0;
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (value <= edges[mid]) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * Histogram-based gradient boosting of depth-limited trees on the log-loss (second-order steps, as XGBoost and
 * LightGBM): features are cut into quantile bins once, each node's split is found from per-bin sums of gradient and
 * hessian, and a child's histogram is its parent's minus its sibling's, so each level costs one pass over half the
 * rows. Raw values are used as they are: trees do not care about scale.
 */
export function fitGradientBoosting(matrix: ArrayLike<number>, rows: number, width: number, labels: ArrayLike<number>, options: BoostingOptions = {}): Baseline {
  checkShape(matrix, rows, width, labels);
  const { bins, maxDepth, rounds, learningRate, l2, minRowsPerLeaf } = { ...DEFAULT_BOOSTING, ...options };
  if (!(bins >= 2 && bins <= 256)) throw new RangeError(`bins must be 2-256, got ${bins}`);
  const edges = binEdges(matrix, rows, width, bins);
  const binned = new Uint8Array(rows * width);
  for (let j = 0; j < width; j++) {
    const column = binned.subarray(j * rows, (j + 1) * rows);
    for (let i = 0; i < rows; i++) column[i] = binOf(matrix[i * width + j], edges[j]);
  }
  const binCount = (j: number) => edges[j].length + 1;
  let positives = 0;
  for (let i = 0; i < rows; i++) positives += labels[i];
  const rate = Math.min(Math.max(positives / Math.max(1, rows), 1e-6), 1 - 1e-6);
  const base = Math.log(rate / (1 - rate));
  const margin = new Float64Array(rows).fill(base);
  const gradient = new Float64Array(rows);
  const hessian = new Float64Array(rows);
  const trees: TreeNode[][] = [];
  const histogramSize = width * 256;
  type Histogram = { g: Float64Array; h: Float64Array; c: Uint32Array };
  const emptyHistogram = (): Histogram => ({ g: new Float64Array(histogramSize), h: new Float64Array(histogramSize), c: new Uint32Array(histogramSize) });
  const fillHistogram = (members: Uint32Array): Histogram => {
    const hist = emptyHistogram();
    for (let j = 0; j < width; j++) {
      const column = binned.subarray(j * rows, (j + 1) * rows);
      const base = j * 256;
      for (let m = 0; m < members.length; m++) {
        const i = members[m];
        const slot = base + column[i];
        hist.g[slot] += gradient[i];
        hist.h[slot] += hessian[i];
        hist.c[slot]++;
      }
    }
    return hist;
  };
  const subtract = (parent: Histogram, child: Histogram): Histogram => {
    const out = emptyHistogram();
    for (let s = 0; s < histogramSize; s++) {
      out.g[s] = parent.g[s] - child.g[s];
      out.h[s] = parent.h[s] - child.h[s];
      out.c[s] = parent.c[s] - child.c[s];
    }
    return out;
  };
  const leafValue = (g: number, h: number) => (-g / (h + l2)) * learningRate;

  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < rows; i++) {
      const p = sigmoid(margin[i]);
      gradient[i] = p - labels[i];
      hessian[i] = Math.max(p * (1 - p), 1e-12);
    }
    const nodes: TreeNode[] = [];
    let level: Array<{ node: number; members: Uint32Array; hist: Histogram; g: number; h: number }> = [];
    {
      const members = Uint32Array.from({ length: rows }, (_, i) => i);
      let g = 0;
      let h = 0;
      for (let i = 0; i < rows; i++) {
        g += gradient[i];
        h += hessian[i];
      }
      nodes.push({ feature: -1, threshold: 0, left: -1, right: -1, value: leafValue(g, h) });
      level.push({ node: 0, members, hist: fillHistogram(members), g, h });
    }
    for (let depth = 0; depth < maxDepth && level.length > 0; depth++) {
      const next: typeof level = [];
      for (const entry of level) {
        const { hist, g, h, members } = entry;
        const parentScore = (g * g) / (h + l2);
        let best = { gain: 1e-9, feature: -1, bin: -1, gl: 0, hl: 0 };
        for (let j = 0; j < width; j++) {
          let gl = 0;
          let hl = 0;
          let cl = 0;
          const base = j * 256;
          for (let b = 0; b < binCount(j) - 1; b++) {
            gl += hist.g[base + b];
            hl += hist.h[base + b];
            cl += hist.c[base + b];
            if (cl < minRowsPerLeaf) continue;
            if (members.length - cl < minRowsPerLeaf) break;
            const gr = g - gl;
            const hr = h - hl;
            const gain = (gl * gl) / (hl + l2) + (gr * gr) / (hr + l2) - parentScore;
            if (gain > best.gain) best = { gain, feature: j, bin: b, gl, hl };
          }
        }
        if (best.feature < 0) continue;
        const column = binned.subarray(best.feature * rows, (best.feature + 1) * rows);
        let leftCount = 0;
        for (let m = 0; m < members.length; m++) if (column[members[m]] <= best.bin) leftCount++;
        const left = new Uint32Array(leftCount);
        const right = new Uint32Array(members.length - leftCount);
        let l = 0;
        let r = 0;
        for (let m = 0; m < members.length; m++) {
          const i = members[m];
          if (column[i] <= best.bin) left[l++] = i;
          else right[r++] = i;
        }
        const node = nodes[entry.node];
        node.feature = best.feature;
        node.threshold = edges[best.feature][best.bin];
        node.left = nodes.length;
        nodes.push({ feature: -1, threshold: 0, left: -1, right: -1, value: leafValue(best.gl, best.hl) });
        node.right = nodes.length;
        nodes.push({ feature: -1, threshold: 0, left: -1, right: -1, value: leafValue(g - best.gl, h - best.hl) });
        if (depth + 1 < maxDepth) {
          const smallerIsLeft = left.length <= right.length;
          const smallHist = fillHistogram(smallerIsLeft ? left : right);
          const largeHist = subtract(hist, smallHist);
          next.push({ node: node.left, members: left, hist: smallerIsLeft ? smallHist : largeHist, g: best.gl, h: best.hl });
          next.push({ node: node.right, members: right, hist: smallerIsLeft ? largeHist : smallHist, g: g - best.gl, h: h - best.hl });
        } else {
          for (let m = 0; m < left.length; m++) margin[left[m]] += nodes[node.left].value;
          for (let m = 0; m < right.length; m++) margin[right[m]] += nodes[node.right].value;
        }
      }
      // Nodes that did not split at this depth are leaves: their rows take the leaf value now.
      for (const entry of level) {
        const node = nodes[entry.node];
        if (node.feature >= 0) continue;
        for (let m = 0; m < entry.members.length; m++) margin[entry.members[m]] += node.value;
      }
      level = next;
    }
    for (const entry of level) {
      const node = nodes[entry.node];
      for (let m = 0; m < entry.members.length; m++) margin[entry.members[m]] += node.value;
    }
    trees.push(nodes);
  }
  return {
    name: 'gbt',
    score(input, count) {
      checkShape(input, count, width);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        let z = base;
        const offset = i * width;
        for (const nodes of trees) {
          let n = 0;
          while (nodes[n].feature >= 0) {
            const value = input[offset + nodes[n].feature];
            // Non-finite values were binned into bin 0, the left side of every split.
            n = !Number.isFinite(value) || value <= nodes[n].threshold ? nodes[n].left : nodes[n].right;
          }
          z += nodes[n].value;
        }
        out[i] = sigmoid(z);
      }
      return out;
    },
  };
}
