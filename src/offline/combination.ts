/**
 * Fitting the combination of the model and the rules (the decision policy's step 2, src/decision/policy.ts):
 *
 *     score = sigmoid(a · logit(modelScore) + b + Σ w_rule over the live calibrated rules that fired)
 *
 * a logistic regression on the rows of a fit window that lies before any test period, with the labels known at
 * the model's label cut-off. `a` and `b` re-calibrate the model (Platt scaling); each `w_rule` is what the rule adds
 * in log-odds *given what the model already says* — which is why the weights belong to one model and ship with it.
 * By default the weights ship on the model's own scale (a = 1, b = 0, w_rule / a): the same ranking, and the
 * model's own score wherever no rule fired (policy step 2 says why).
 *
 * Choices, each to keep the weights explainable and stable:
 *  - weights are ≥ 0 (non-negative least squares' logistic cousin, by an active set): a rule is evidence for fraud
 *    or, where the data says it adds nothing beyond the model, weight 0 — never a reason to lower the score;
 *  - a ridge penalty `l2 · w²` on the rule weights (not on a, b) keeps a rule that fired only on fraud finite;
 *  - every rule that fired in the window gets a weight, however rarely it fired: the ridge penalty is the prior
 *    "a rule adds nothing beyond the model until the data says otherwise", and shrinks a rule measured on a few
 *    hits towards 0. Only a rule that never fired (or a new one) cannot be measured and keeps its hand-set score
 *    (policy step 2, uncalibrated rules). (A hard minimum of hits, below which a rule kept its hand-set score,
 *    let a rule seen 15 times and never on fraud lift every hit to its 0.3: a cliff the prior does not have.);
 *  - Newton's method with step halving: the problem is convex, so this finds its one optimum, deterministically.
 */
import type { Combination } from '../decision/policy';
import { logit } from '../decision/policy';
import type { ReplayRow } from './dataset';
import type { ModelScorer } from '../model/scorer';
import { DAY_MS } from './train';

/** One fit row: what the policy would see, and whether the transaction was known to be fraud at the cut-off. */
export interface CombinationRow {
  modelScore: number;
  /** Ids of the live (non-shadow) rules that fired. */
  ruleIds: readonly string[];
  isFraud: number;
}

export interface CombinationFitOptions {
  /** Ridge penalty on each rule weight (log-odds²); default 1. */
  l2?: number;
  /** Rules that fired fewer times than this in the fit window keep their hand-set score; default 1 (see above). */
  minRuleHits?: number;
  maxIterations?: number;
  /**
   * true (default): express the fitted weights on the model's own scale (see below): a = 1, b = 0, w_rule / a;
   * false: ship the fitted a, b and w as they are (scores re-calibrated to the labels known at the cut-off).
   */
  modelScale?: boolean;
}

export interface RuleFitSummary {
  rule: string;
  hits: number;
  frauds: number;
  /** Share of the rule's hits known to be fraud in the fit window. */
  precision: number;
  /** The fitted log-odds weight, or null when the rule fired too rarely to be calibrated. */
  weight: number | null;
}

export interface CombinationFit {
  modelWeight: number;
  intercept: number;
  /** a and b as fitted (before expressing the weights on the model's scale). */
  fitted: { modelWeight: number; intercept: number };
  baseRate: number;
  ruleWeights: Record<string, number>;
  rules: RuleFitSummary[];
  rows: number;
  frauds: number;
  iterations: number;
  /** Mean log-loss of the fitted combination and of the model alone on the fit rows (lower is better). */
  logLoss: { combined: number; model: number };
}

export const DEFAULT_COMBINATION_FIT: Required<CombinationFitOptions> = { l2: 1, minRuleHits: 1, maxIterations: 100, modelScale: true };

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** log(1 + e^z) without overflow. */
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

/** Solves H x = g (H symmetric positive definite, small) by Gaussian elimination with partial pivoting. */
export function solve(h: number[][], g: number[]): number[] {
  const n = g.length;
  const m = h.map((row, i) => [...row, g[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    const d = m[col][col];
    if (Math.abs(d) < 1e-300) throw new RangeError('singular system in the combination fit');
    for (let r = col + 1; r < n; r++) {
      const f = m[r][col] / d;
      if (f === 0) continue;
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let c = r + 1; c < n; c++) s -= m[r][c] * x[c];
    x[r] = s / m[r][r];
  }
  return x;
}

/**
 * Fits a, b and the rule weights on `rows`. Pure and deterministic: the same rows in the same order give the
 * same numbers.
 */
export function fitCombination(rows: readonly CombinationRow[], options: CombinationFitOptions = {}): CombinationFit {
  const { l2, minRuleHits, maxIterations, modelScale } = { ...DEFAULT_COMBINATION_FIT, ...options };
  const n = rows.length;
  if (n === 0) throw new RangeError('no rows to fit the combination on');
  let frauds = 0;
  const stats = new Map<string, { hits: number; frauds: number }>();
  for (const row of rows) {
    frauds += row.isFraud;
    for (const id of new Set(row.ruleIds)) {
      const s = stats.get(id) ?? { hits: 0, frauds: 0 };
      s.hits++;
      s.frauds += row.isFraud;
      stats.set(id, s);
    }
  }
  if (frauds === 0 || frauds === n) throw new RangeError(`the fit rows hold ${frauds} frauds of ${n}: both classes are needed`);
  const calibrated = [...stats].filter(([, s]) => s.hits >= minRuleHits).map(([id]) => id).sort();
  const column = new Map(calibrated.map((id, j) => [id, j + 2]));
  const p = calibrated.length + 2;
  // Sparse design: x = [logit(model), 1, hit_1 … hit_R]; each row keeps the columns of its calibrated hits.
  const x0 = Float64Array.from(rows, (r) => logit(r.modelScore));
  const y = Uint8Array.from(rows, (r) => (r.isFraud ? 1 : 0));
  const cols = rows.map((r) => [...new Set(r.ruleIds)].map((id) => column.get(id)).filter((c): c is number => c !== undefined));

  const linear = (theta: number[], i: number) => {
    let z = theta[0] * x0[i] + theta[1];
    for (const c of cols[i]) z += theta[c];
    return z;
  };
  const loss = (theta: number[]) => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = linear(theta, i);
      total += softplus(z) - y[i] * z;
    }
    for (let c = 2; c < p; c++) total += l2 * theta[c] * theta[c];
    return total;
  };
  const gradient = (theta: number[]) => {
    const g = new Array<number>(p).fill(0);
    for (let i = 0; i < n; i++) {
      const r = sigmoid(linear(theta, i)) - y[i];
      g[0] += r * x0[i];
      g[1] += r;
      for (const c of cols[i]) g[c] += r;
    }
    for (let c = 2; c < p; c++) g[c] += 2 * l2 * theta[c];
    return g;
  };

  /** Newton on the free coordinates; the fixed ones stay at 0. */
  let iterations = 0;
  const newton = (theta: number[], free: boolean[]) => {
    for (let it = 0; it < maxIterations; it++) {
      iterations++;
      const g = gradient(theta);
      const h = Array.from({ length: p }, () => new Array<number>(p).fill(0));
      for (let i = 0; i < n; i++) {
        const q = sigmoid(linear(theta, i));
        const v = q * (1 - q);
        if (v === 0) continue;
        const idx = [0, 1, ...cols[i]];
        const val = [x0[i], 1, ...cols[i].map(() => 1)];
        for (let a = 0; a < idx.length; a++) for (let b = 0; b < idx.length; b++) h[idx[a]][idx[b]] += v * val[a] * val[b];
      }
      for (let c = 2; c < p; c++) h[c][c] += 2 * l2;
      // A whisper of damping keeps the step defined when the data separate (the Hessian then tends to 0).
      for (let c = 0; c < p; c++) h[c][c] += 1e-9 * n;
      const freeIdx = [...Array(p).keys()].filter((c) => free[c]);
      const step = solve(
        freeIdx.map((a) => freeIdx.map((b) => h[a][b])),
        freeIdx.map((a) => g[a]),
      );
      // Step halving: take the full Newton step unless it does not lower the loss.
      const before = loss(theta);
      let accepted: number[] | undefined;
      let scale = 1;
      for (; scale > 1e-10; scale /= 2) {
        const next = [...theta];
        freeIdx.forEach((c, k) => (next[c] -= scale * step[k]));
        if (loss(next) <= before) {
          accepted = next;
          break;
        }
      }
      if (accepted === undefined) break;
      const moved = Math.max(0, ...freeIdx.map((_, k) => Math.abs(scale * step[k])));
      theta = accepted;
      if (moved < 1e-9) break;
    }
    return theta;
  };

  // Active set for w ≥ 0: fit the free weights; pin the negative ones at 0; release a pinned one whose gradient
  // says the loss would fall if it rose; stop when neither happens (the KKT conditions hold).
  let theta = new Array<number>(p).fill(0);
  theta[0] = 1;
  const free = new Array<boolean>(p).fill(true);
  for (let round = 0; round <= 2 * p; round++) {
    theta = newton(theta, free);
    const negative = [...Array(p).keys()].filter((c) => c >= 2 && free[c] && theta[c] < 0);
    if (negative.length > 0) {
      for (const c of negative) {
        free[c] = false;
        theta[c] = 0;
      }
      continue;
    }
    const g = gradient(theta);
    const release = [...Array(p).keys()].filter((c) => c >= 2 && !free[c] && g[c] < -1e-9);
    if (release.length === 0) break;
    for (const c of release) free[c] = true;
  }

  const modelOnly = (() => {
    let total = 0;
    for (let i = 0; i < n; i++) total += softplus(x0[i]) - y[i] * x0[i];
    return total / n;
  })();
  let combinedLoss = 0;
  for (let i = 0; i < n; i++) {
    const z = linear(theta, i);
    combinedLoss += softplus(z) - y[i] * z;
  }
  const round = (v: number) => Number(v.toPrecision(6));
  if (modelScale && !(theta[0] > 0)) {
    throw new RangeError(`the fitted model weight is ${theta[0]}: on these rows the model's score does not rank fraud higher, so its combination cannot be expressed on its scale`);
  }
  // On the model's scale: (a·logit(m) + b + Σw − b) / a = logit(m) + Σ w/a, the same ranking (a > 0) with the
  // model's own score wherever no rule fired.
  const scale = modelScale ? theta[0] : 1;
  const ruleWeights: Record<string, number> = {};
  for (const id of calibrated) ruleWeights[id] = round(theta[column.get(id)!] / scale);
  return {
    modelWeight: modelScale ? 1 : round(theta[0]),
    intercept: modelScale ? 0 : round(theta[1]),
    fitted: { modelWeight: round(theta[0]), intercept: round(theta[1]) },
    baseRate: round(frauds / n),
    ruleWeights,
    rules: [...stats]
      .map(([rule, s]) => ({ rule, hits: s.hits, frauds: s.frauds, precision: s.frauds / s.hits, weight: Object.hasOwn(ruleWeights, rule) ? ruleWeights[rule] : null }))
      .sort((a, b) => b.hits - a.hits || (a.rule < b.rule ? -1 : 1)),
    rows: n,
    frauds,
    iterations,
    logLoss: { combined: combinedLoss / n, model: modelOnly },
  };
}

export interface CombinationWindow {
  /** Fit window [from, to), epoch ms; must end before any period the combination is tested on. */
  from: number;
  to: number;
  /** Only fraud labels reported before this instant count (the model's label cut-off). */
  labelsKnownAt: number;
}

/**
 * Gathers the fit rows from a replay, as the evaluation gathers its test rows: duplicates and late rows are
 * skipped, and the rows of a card already known compromised (a fraud label reported before the row's day) are
 * left out — it would be blocked already. A row is fraud when its label was reported before `labelsKnownAt`:
 * nothing reported later, and no row at or after `to`, ever reaches the fit.
 */
export class CombinationData {
  readonly rows: CombinationRow[] = [];
  private readonly knownCompromisedDay = new Map<string, number>();
  excludedKnownCompromised = 0;
  skippedDuplicateOrLate = 0;

  constructor(
    private readonly window: CombinationWindow,
    private readonly model: ModelScorer,
    private readonly rules: (row: ReplayRow) => readonly { ruleId: string; shadow: boolean }[],
  ) {}

  add(batch: readonly ReplayRow[]): void {
    const { from, to, labelsKnownAt } = this.window;
    const kept: ReplayRow[] = [];
    for (const row of batch) {
      const time = row.transaction.eventTimeMs;
      if (time >= to) continue;
      const label = row.fraudLabel;
      if (label !== undefined && label.reportedAtMs < labelsKnownAt) {
        const knownDay = Math.floor(label.reportedAtMs / DAY_MS);
        const previous = this.knownCompromisedDay.get(row.transaction.cardToken);
        if (previous === undefined || knownDay < previous) this.knownCompromisedDay.set(row.transaction.cardToken, knownDay);
      }
      if (time < from) continue;
      if (row.duplicate || row.tooOld) {
        this.skippedDuplicateOrLate++;
        continue;
      }
      const knownDay = this.knownCompromisedDay.get(row.transaction.cardToken);
      if (knownDay !== undefined && knownDay < Math.floor(time / DAY_MS)) {
        this.excludedKnownCompromised++;
        continue;
      }
      kept.push(row);
    }
    if (kept.length === 0) return;
    const scores = this.model.scoreBatch(kept.map((row) => row.features));
    kept.forEach((row, i) => {
      const label = row.fraudLabel;
      this.rows.push({
        modelScore: scores[i],
        ruleIds: this.rules(row)
          .filter((hit) => !hit.shadow)
          .map((hit) => hit.ruleId),
        isFraud: label !== undefined && label.reportedAtMs < labelsKnownAt ? 1 : 0,
      });
    });
  }
}

/** The combination as it ships in the model's metadata: the policy's parameters plus where they came from. */
export type ShippedCombination = Combination & {
  fit: {
    from: string;
    to: string;
    labelsKnownAt: string;
    rows: number;
    frauds: number;
    excludedKnownCompromised: number;
    l2: number;
    minRuleHits: number;
    /** a and b as the regression fitted them, before the weights were put on the model's scale. */
    fitted: { modelWeight: number; intercept: number };
    logLoss: { combined: number; model: number };
    rules: RuleFitSummary[];
    fittedAt: string;
  };
};

export function shippedCombination(fit: CombinationFit, window: CombinationWindow, rulesVersion: string, extra: { excludedKnownCompromised: number; l2: number; minRuleHits: number; fittedAt: string }): ShippedCombination {
  const iso = (ms: number) => new Date(ms).toISOString();
  const round = (v: number) => Number(v.toPrecision(6));
  return {
    rulesVersion,
    modelWeight: fit.modelWeight,
    intercept: fit.intercept,
    baseRate: fit.baseRate,
    ruleWeights: fit.ruleWeights,
    fit: {
      from: iso(window.from),
      to: iso(window.to),
      labelsKnownAt: iso(window.labelsKnownAt),
      rows: fit.rows,
      frauds: fit.frauds,
      excludedKnownCompromised: extra.excludedKnownCompromised,
      l2: extra.l2,
      minRuleHits: extra.minRuleHits,
      fitted: fit.fitted,
      logLoss: { combined: round(fit.logLoss.combined), model: round(fit.logLoss.model) },
      rules: fit.rules.map((r) => ({ ...r, precision: round(r.precision) })),
      fittedAt: extra.fittedAt,
    },
  };
}

/** The fit as an analyst reads it: each rule's weight as an odds multiplier next to its measured precision. */
export function formatCombinationFit(fit: CombinationFit): string {
  const lines = [
    `combined score = sigmoid(${fit.modelWeight} · logit(model) + ${fit.intercept} + Σ rule weights); fit on ${fit.rows} rows, ${fit.frauds} known fraud (base rate ${(fit.baseRate * 100).toFixed(3)}%); fitted a ${fit.fitted.modelWeight}, b ${fit.fitted.intercept}`,
    `mean log-loss on the fit rows: combined ${fit.logLoss.combined.toFixed(5)}, model alone ${fit.logLoss.model.toFixed(5)}`,
    'rule                            hits  frauds  precision   weight  odds ×',
  ];
  for (const r of fit.rules) {
    const weight = r.weight === null ? '  (too few hits: hand-set score)' : `${r.weight.toFixed(3).padStart(8)}  ${Math.exp(r.weight).toFixed(2).padStart(6)}`;
    lines.push(`  ${r.rule.padEnd(28)} ${String(r.hits).padStart(6)}  ${String(r.frauds).padStart(6)}  ${(r.precision * 100).toFixed(1).padStart(8)}% ${weight}`);
  }
  return lines.join('\n');
}
