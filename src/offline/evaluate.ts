/**
 * Evaluation on the future, the way a fraud team works: the replay runs from the start of the data so state is
 * warm and labels arrive when they were reported; only the test period is scored. Three systems are compared on
 * the same rows: the rules alone, the model alone and the combined decision policy, and beside them the baselines
 * (src/offline/baselines.ts) when given. A card already known to be compromised (a fraud label reported before the
 * day) is left out of that day: it would be blocked already.
 */
import type { CardTransaction } from '../contract';
import { decide, type Combination, type DecisionAction, type DecisionPolicy } from '../decision/policy';
import type { RuleHit } from '../rules/compile';
import type { ReplayRow } from './dataset';
import {
  averagePrecision,
  cardPrecisionAtK,
  figuresAtThresholds,
  precisionRecallCurve,
  rocAuc,
  type CardPrecisionDay,
  type PrPoint,
  type ThresholdFigures,
} from './metrics';
import type { ModelScorer } from '../model/scorer';
import { DAY_MS } from './train';

export const SYSTEMS = ['rules', 'logistic', 'gbt', 'model', 'combined'] as const;
export type SystemName = (typeof SYSTEMS)[number];
export type BaselineName = Extract<SystemName, 'logistic' | 'gbt'>;

/** A baseline's scores for a batch of feature vectors in catalog order (fraud probabilities, so thresholds apply). */
export type BaselineScorer = (features: readonly Float64Array[]) => Float32Array;

/** One scored test row, for `--scores-out`: enough to recompute any figure without the replay. */
export interface ScoredRow {
  transactionId: string;
  cardToken: string;
  eventTime: string;
  /** When this transaction's fraud label was reported, or null when none ever was (within the input). */
  fraudLabelReportedAt: string | null;
  /** Truth as the figures used it: the truth file's when given, else "a fraud label names it". */
  isFraud: number;
  scores: Partial<Record<SystemName, number>>;
  /** The combined policy's action (the rules' when there is no model). */
  action: DecisionAction;
}

export interface EvaluationSetup {
  /** Test period [from, to), epoch ms. */
  from: number;
  to: number;
  /** The rule set's evaluation; absent means no rules (rules alone then scores 0 everywhere). */
  rules?: (transaction: CardTransaction, features: Float64Array) => RuleHit[];
  model?: ModelScorer;
  /** Baselines scored on the same rows (evaluation only). */
  baselines?: Partial<Record<BaselineName, BaselineScorer>>;
  policy: DecisionPolicy;
  /**
   * The model's fitted combination with the rules (policy step 2), used by the combined system; absent: the noisy
   * OR. It must have been fitted on rows and labels before `from` (the CLI checks).
   */
  combination?: Combination;
  /** Cards a review team can look at per day (Card Precision@k). */
  k: number;
  /**
   * Ground truth when it is better than the labels (the simulator's truth file): fraud transaction id → scenario.
   * Without it a transaction is fraud when a fraud label names it, whenever that label was reported.
   */
  truth?: ReadonlyMap<string, string>;
}

export interface SystemFigures {
  auc: number | null;
  averagePrecision: number | null;
  cardPrecisionAtK: number | null;
  /**
   * Alert precision and recall as the service would act: `review` counts every alert (review or block), `block` the
   * blocks. The action is the policy's, so a rule's own action counts as well as the score's thresholds; the model
   * alone acts by the thresholds.
   */
  alerts: { review: AlertFigures; block: AlertFigures };
}

export interface EvaluationReport {
  testPeriod: { from: string; to: string };
  k: number;
  policy: DecisionPolicy;
  /** The combination the combined system used, or null for the noisy OR. */
  combination: Combination | null;
  rows: { scored: number; excludedKnownCompromised: number; skippedDuplicateOrLate: number; frauds: number; fraudCards: number; days: number };
  /** The best CP@k a perfect ranking could reach on these days (few fraud cards on a day caps it below 1). */
  cardPrecisionCeiling: number | null;
  systems: Partial<Record<SystemName, SystemFigures>>;
  perDay: Array<{ date: string; cards: number; fraudCards: number } & Partial<Record<SystemName, number>>>;
  /**
   * Per rule: live and shadow hits in the test period and the share of them that were fraud. A rule's score is its
   * evidence in the policy; this is the precision it measured, to tune the score against.
   */
  ruleHits: Array<{ rule: string; score: number; shadow: boolean; hits: number; frauds: number; precision: number | null }>;
  /** With a truth file: per fraud scenario, the share of its fraud transactions each system alerts (review or block). */
  alertRecallByScenario?: Record<string, { frauds: number } & Partial<Record<SystemName, number>>>;
}

export interface EvaluationCurves {
  precisionRecall: Partial<Record<SystemName, PrPoint[]>>;
  cardPrecisionDays: Partial<Record<SystemName, CardPrecisionDay[]>>;
}

export type AlertFigures = Omit<ThresholdFigures, 'threshold'>;

const ACTION_RANK: Readonly<Record<DecisionAction, number>> = { allow: 0, review: 1, block: 2 };

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
const isoOrNone = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'none');

/** Feed it every replay batch (test rows are scored, earlier rows only teach it which cards became known). */
export class Evaluation {
  private readonly day: number[] = [];
  private readonly card: string[] = [];
  private readonly transactionId: string[] = [];
  private readonly eventTimeMs: number[] = [];
  private readonly labelReportedMs: Array<number | undefined> = [];
  private readonly isFraud: number[] = [];
  private readonly scenario: Array<string | undefined> = [];
  private readonly hits: Array<readonly RuleHit[]> = [];
  private readonly scores: Record<SystemName, number[]> = { rules: [], logistic: [], gbt: [], model: [], combined: [] };
  private readonly actions: Record<SystemName, number[]> = { rules: [], logistic: [], gbt: [], model: [], combined: [] };
  private readonly knownCompromisedDay = new Map<string, number>();
  private skipped = 0;
  private firstTestMs = Number.POSITIVE_INFINITY;
  private lastTestMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly setup: EvaluationSetup) {}

  get systems(): SystemName[] {
    const baselines = this.setup.baselines ?? {};
    return SYSTEMS.filter((s) => s === 'rules' || ((s === 'model' || s === 'combined') && this.setup.model !== undefined) || baselines[s as BaselineName] !== undefined);
  }

  add(batch: readonly ReplayRow[]): void {
    const { from, to, model, policy } = this.setup;
    const test: ReplayRow[] = [];
    for (const row of batch) {
      if (row.fraudLabel !== undefined) {
        const knownDay = Math.floor(row.fraudLabel.reportedAtMs / DAY_MS);
        const previous = this.knownCompromisedDay.get(row.transaction.cardToken);
        if (previous === undefined || knownDay < previous) this.knownCompromisedDay.set(row.transaction.cardToken, knownDay);
      }
      const time = row.transaction.eventTimeMs;
      if (time < from || time >= to) continue;
      if (row.duplicate || row.tooOld) this.skipped++;
      else test.push(row);
      this.firstTestMs = Math.min(this.firstTestMs, time);
      this.lastTestMs = Math.max(this.lastTestMs, time);
    }
    if (test.length === 0) return;
    const vectors = test.map((row) => row.features);
    const modelScores = model?.scoreBatch(vectors);
    const baselineScores = Object.entries(this.setup.baselines ?? {}).map(([name, score]) => [name as BaselineName, score!(vectors)] as const);
    const actionOf = (score: number) => (score >= policy.blockThreshold ? 2 : score >= policy.reviewThreshold ? 1 : 0);
    test.forEach((row, i) => {
      const hits = this.setup.rules?.(row.transaction, row.features) ?? [];
      this.hits.push(hits);
      this.day.push(Math.floor(row.transaction.eventTimeMs / DAY_MS));
      this.card.push(row.transaction.cardToken);
      this.transactionId.push(row.transaction.transactionId);
      this.eventTimeMs.push(row.transaction.eventTimeMs);
      this.labelReportedMs.push(row.fraudLabel?.reportedAtMs);
      const scenario = this.setup.truth?.get(row.transaction.transactionId);
      this.scenario.push(scenario);
      this.isFraud.push((this.setup.truth === undefined ? row.fraudLabel !== undefined : scenario !== undefined) ? 1 : 0);
      const byRules = decide({ hits }, policy);
      this.scores.rules.push(byRules.score);
      this.actions.rules.push(ACTION_RANK[byRules.action]);
      for (const [name, scores] of baselineScores) {
        this.scores[name].push(scores[i]);
        this.actions[name].push(actionOf(scores[i]));
      }
      if (modelScores !== undefined) {
        const modelScore = modelScores[i];
        this.scores.model.push(modelScore);
        this.actions.model.push(actionOf(modelScore));
        const combined = decide({ hits, modelScore, combination: this.setup.combination }, policy);
        this.scores.combined.push(combined.score);
        this.actions.combined.push(ACTION_RANK[combined.action]);
      }
    });
  }

  /** Rows of cards known compromised before their day are out of every figure, not only CP@k. */
  private keptRows(): number[] {
    const kept: number[] = [];
    for (let i = 0; i < this.day.length; i++) {
      const knownDay = this.knownCompromisedDay.get(this.card[i]);
      if (knownDay === undefined || knownDay >= this.day[i]) kept.push(i);
    }
    return kept;
  }

  /** The rows the figures were computed on, with every system's score. */
  *scoredRows(): Generator<ScoredRow> {
    const ACTIONS: DecisionAction[] = ['allow', 'review', 'block'];
    const actionSystem: SystemName = this.setup.model === undefined ? 'rules' : 'combined';
    for (const i of this.keptRows()) {
      const reported = this.labelReportedMs[i];
      yield {
        transactionId: this.transactionId[i],
        cardToken: this.card[i],
        eventTime: new Date(this.eventTimeMs[i]).toISOString(),
        fraudLabelReportedAt: reported === undefined ? null : new Date(reported).toISOString(),
        isFraud: this.isFraud[i],
        scores: Object.fromEntries(this.systems.map((s) => [s, this.scores[s][i]])),
        action: ACTIONS[this.actions[actionSystem][i]],
      };
    }
  }

  result(): { report: EvaluationReport; curves: EvaluationCurves } {
    const { k, policy, from, to } = this.setup;
    const kept = this.keptRows();
    const day = kept.map((i) => this.day[i]);
    const card = kept.map((i) => this.card[i]);
    const isFraud = kept.map((i) => this.isFraud[i]);
    const report: EvaluationReport = {
      // An open end (--test-to defaults to the end of the input) is reported as the last test transaction.
      testPeriod: { from: isoOrNone(Number.isFinite(from) ? from : this.firstTestMs), to: isoOrNone(Number.isFinite(to) ? to : this.lastTestMs + 1) },
      k,
      policy,
      combination: this.setup.combination === undefined ? null : combinationParameters(this.setup.combination),
      rows: {
        scored: kept.length,
        excludedKnownCompromised: this.day.length - kept.length,
        skippedDuplicateOrLate: this.skipped,
        frauds: isFraud.reduce((a, b) => a + b, 0),
        fraudCards: new Set(card.filter((_, i) => isFraud[i] === 1)).size,
        days: new Set(day).size,
      },
      cardPrecisionCeiling: null,
      systems: {},
      perDay: [],
      ruleHits: [],
    };
    const byRule = new Map<string, EvaluationReport['ruleHits'][number]>();
    for (const i of kept) {
      for (const hit of this.hits[i]) {
        const entry = byRule.get(hit.ruleId) ?? { rule: hit.ruleId, score: hit.score, shadow: hit.shadow, hits: 0, frauds: 0, precision: null };
        entry.hits++;
        entry.frauds += this.isFraud[i];
        byRule.set(hit.ruleId, entry);
      }
    }
    report.ruleHits = [...byRule.values()].map((r) => ({ ...r, precision: r.frauds / r.hits })).sort((a, b) => b.hits - a.hits);
    const curves: EvaluationCurves = { precisionRecall: {}, cardPrecisionDays: {} };
    // Cards and fraud cards per day before any system's own removals, which differ by system.
    const perDay = new Map<number, EvaluationReport['perDay'][number]>();
    const cardsOfDay = new Map<number, { cards: Set<string>; fraud: Set<string> }>();
    day.forEach((d, i) => {
      let entry = cardsOfDay.get(d);
      if (!entry) cardsOfDay.set(d, (entry = { cards: new Set(), fraud: new Set() }));
      entry.cards.add(card[i]);
      if (isFraud[i]) entry.fraud.add(card[i]);
    });
    for (const d of [...cardsOfDay.keys()].sort((a, b) => a - b)) {
      const { cards, fraud } = cardsOfDay.get(d)!;
      perDay.set(d, { date: new Date(d * DAY_MS).toISOString().slice(0, 10), cards: cards.size, fraudCards: fraud.size });
    }
    for (const system of this.systems) {
      const score = kept.map((i) => this.scores[system][i]);
      // Known compromise was applied above; CP@k still removes cards it detected on earlier days itself.
      const cp = cardPrecisionAtK({ day, card, score, isFraud }, k);
      report.cardPrecisionCeiling = finiteOrNull(cp.ceiling);
      report.systems[system] = {
        auc: finiteOrNull(rocAuc(score, isFraud)),
        averagePrecision: finiteOrNull(averagePrecision(score, isFraud)),
        cardPrecisionAtK: finiteOrNull(cp.mean),
        alerts: alertFigures(kept.map((i) => this.actions[system][i]), isFraud),
      };
      curves.precisionRecall[system] = precisionRecallCurve(score, isFraud);
      curves.cardPrecisionDays[system] = cp.days;
      for (const d of cp.days) perDay.get(d.day)![system] = d.precision;
    }
    report.perDay = [...perDay.values()];
    if (this.setup.truth !== undefined) {
      const byScenario: NonNullable<EvaluationReport['alertRecallByScenario']> = {};
      for (const i of kept) {
        const scenario = this.scenario[i];
        if (scenario === undefined) continue;
        const entry = (byScenario[scenario] ??= { frauds: 0 });
        entry.frauds++;
        for (const system of this.systems) entry[system] = (entry[system] ?? 0) + (this.actions[system][i] >= 1 ? 1 : 0);
      }
      for (const entry of Object.values(byScenario)) for (const system of this.systems) entry[system] = (entry[system] ?? 0) / entry.frauds;
      report.alertRecallByScenario = byScenario;
    }
    return { report, curves };
  }
}

/** Only the policy's parameters (a shipped combination also carries its fit's provenance). */
function combinationParameters(c: Combination): Combination {
  return { rulesVersion: c.rulesVersion, modelWeight: c.modelWeight, intercept: c.intercept, baseRate: c.baseRate, ruleWeights: c.ruleWeights };
}

function alertFigures(actionRanks: number[], isFraud: number[]): { review: AlertFigures; block: AlertFigures } {
  const [review, block] = figuresAtThresholds(actionRanks, isFraud, [1, 2]).map(({ threshold: _rank, ...figures }) => figures);
  return { review, block };
}

const percent = (v: number | null | undefined) => (v === null || v === undefined ? '   –  ' : `${(v * 100).toFixed(1).padStart(5)}%`);

/** The comparison as a fixed-width table for the terminal. */
export function formatEvaluation(report: EvaluationReport): string {
  const lines = [
    `test ${report.testPeriod.from.slice(0, 16)} .. ${report.testPeriod.to.slice(0, 16)} UTC (end exclusive): ${report.rows.scored} transactions over ${report.rows.days} days, ${report.rows.frauds} fraud on ${report.rows.fraudCards} cards; ${report.rows.excludedKnownCompromised} rows of cards already known compromised left out`,
    `system    |   AUC  |   AP   | CP@${String(report.k).padEnd(3)} | alerts (review ≥${report.policy.reviewThreshold} or a rule): prec / recall | blocks (≥${report.policy.blockThreshold} or a rule): prec / recall`,
  ];
  for (const [name, figures] of Object.entries(report.systems)) {
    const { review, block } = figures.alerts;
    lines.push(
      `${name.padEnd(9)} | ${percent(figures.auc)} | ${percent(figures.averagePrecision)} | ${percent(figures.cardPrecisionAtK)} | ${String(review.alerts).padStart(6)} alerts ${percent(review.precision)} / ${percent(review.recall)} | ${String(block.alerts).padStart(6)} alerts ${percent(block.precision)} / ${percent(block.recall)}`,
    );
  }
  lines.push(`CP@${report.k} ceiling (perfect ranking): ${percent(report.cardPrecisionCeiling)}`);
  if (report.systems.combined !== undefined) {
    const c = report.combination;
    lines.push(
      c === null
        ? 'combined = noisy OR of the rules\' hand-set scores and the model (no fitted combination)'
        : `combined = sigmoid(${c.modelWeight} · logit(model) + ${c.intercept} + Σ rule weights), fitted with rules ${c.rulesVersion}; weights: ${Object.entries(c.ruleWeights)
            .map(([id, w]) => `${id} ${w}`)
            .join(', ')}`,
    );
  }
  if (report.ruleHits.length > 0) {
    lines.push('rule hits in the test period (score = evidence in the policy, precision = measured):');
    for (const r of report.ruleHits) {
      lines.push(`  ${r.rule.padEnd(30)} score ${r.score.toFixed(2)}  ${String(r.hits).padStart(7)} hits  precision ${percent(r.precision)}${r.shadow ? '  (shadow)' : ''}`);
    }
  }
  if (report.alertRecallByScenario !== undefined) {
    lines.push('share of fraud transactions alerted, by scenario (truth file):');
    for (const [scenario, entry] of Object.entries(report.alertRecallByScenario)) {
      const figures = Object.keys(report.systems).map((system) => `${system} ${percent(entry[system as SystemName])}`);
      lines.push(`  ${scenario.padEnd(22)} ${String(entry.frauds).padStart(6)} fraud txns: ${figures.join('  ')}`);
    }
  }
  return lines.join('\n');
}
