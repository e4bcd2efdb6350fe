/**
 * Backtest of a candidate rule file or model: "what would this change have done last week?". The input is replayed
 * through the state ONCE (features do not depend on rules or model), and every replayed chunk is scored twice by the
 * service's own chunk scoring (`scoreChunk`: rules → model → decision policy → explanations → suppression), once
 * with the baseline (the rules and model in force) and once with the candidate. Both sides therefore decide on the
 * very same feature vectors, and the difference between their decisions is the candidate's effect alone.
 *
 * What is compared is each transaction's decision (allow / review / block): an alert is a decision of review or
 * block. Suppression (one alert per card per period) is applied on each side as the service would, and reported as
 * the alerts each side would have published, but the diff is of decisions: a suppressed alert is still a decision
 * an analyst's queue would have held under the other side's alert for the card.
 */
import { createHash } from 'node:crypto';
import type { CardTransaction, Reason } from '../contract';
import { createMemorySuppressor } from '../alerts/suppression';
import type { DecisionAction, DecisionPolicy } from '../decision/policy';
import { NonRetriableError } from '../errors';
import type { ModelScorer } from '../model/scorer';
import type { RuleHit, RuleSet } from '../rules';
import { scoreChunk, type ScoringDependencies } from '../scoring/pipeline';
import type { FeatureStore } from '../state/store';
import { Telemetry } from '../telemetry/events';
import type { ReplayRow } from './dataset';

/** One side of the comparison: a rule set and a model (absent: rules only, as MODEL_DIR=none). */
export interface BacktestSide {
  rules: RuleSet;
  model?: ModelScorer;
}

export interface BacktestSettings {
  policy: DecisionPolicy;
  /** ALERT_SUPPRESSION_SECONDS: the published-alert count of each side suppresses as the service does. */
  suppressionSeconds: number;
}

/** What one side decided for one transaction. */
export interface SideDecision {
  score: number;
  action: DecisionAction;
  reasons: Reason[];
  /** The live hits (what the policy counted; shadow hits never decide). */
  liveHits: RuleHit[];
  modelScore?: number;
  /** An alert (review or block) that the suppressor let through. */
  published: boolean;
}

/**
 * Scores replayed rows with one side, through `scoreChunk` on a store that serves the features the replay already
 * computed. Each side keeps its own suppressor across chunks (periods run in event time, as in the service).
 */
export function createSideScorer(side: BacktestSide, settings: BacktestSettings): (rows: readonly ReplayRow[]) => Promise<SideDecision[]> {
  const base: Omit<ScoringDependencies, 'store'> = {
    rules: () => side.rules,
    model: () => side.model,
    policy: settings.policy,
    suppressor: createMemorySuppressor(settings.suppressionSeconds * 1000),
    alerts: { publish: async () => undefined },
    telemetry: new Telemetry(),
    now: () => Date.now(),
  };
  return async (rows) => {
    const scored = await scoreChunk({ ...base, store: replayedFeatures(rows) }, rows.map((r) => r.transaction));
    return scored.map((s) => ({
      score: s.decision.score,
      action: s.decision.action,
      reasons: s.decision.reasons,
      liveHits: s.hits.filter((h) => !h.shadow),
      ...(s.modelScore !== undefined ? { modelScore: s.modelScore } : {}),
      published: s.alert !== undefined && !s.suppressed,
    }));
  };
}

/** The replay owns the state: this store only hands `scoreChunk` the features the replay computed for these rows. */
function replayedFeatures(rows: readonly ReplayRow[]): FeatureStore {
  const notHere = (what: string) => () => Promise.reject(new NonRetriableError(`${what} is not available in a backtest: the replay owns the state`));
  return {
    async applyBatch(txns) {
      if (txns.length !== rows.length || txns.some((t, i) => t !== rows[i].transaction)) {
        throw new NonRetriableError('a backtest scores exactly the rows the replay produced, in order');
      }
      return rows.map((r) => ({ features: r.features, duplicate: r.duplicate, tooOld: r.tooOld }));
    },
    recordLabels: notHere('recordLabels'),
    cardHistory: notHere('cardHistory'),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The diff (pure)

/** added: allow → review/block; removed: review/block → allow; changed: review ↔ block. */
export type DecisionChange = 'added' | 'removed' | 'changed';

/** The cause named when the two sides' model scores differ (a candidate model). */
export const MODEL_CAUSE = '(model)';

export interface ComparedRow {
  transaction: CardTransaction;
  /** A fraud label names it (whenever reported), or the truth file does. */
  fraud: boolean;
  baseline: SideDecision;
  candidate: SideDecision;
}

export interface DecisionSummary {
  score: number;
  action: DecisionAction;
  reasons: Array<{ code: string; message: string }>;
  modelScore?: number;
}

/** One transaction whose decision changed: a `--out` line and a sample entry. No PAN: card token and masked PAN. */
export interface ChangedDecision {
  transactionId: string;
  cardToken: string;
  maskedPan?: string;
  eventTime: string;
  amount: number;
  currency: string;
  fraud: boolean;
  change: DecisionChange;
  /** The rules whose live hit differs between the sides (added, removed, other score or action), and/or the model. */
  causes: string[];
  baseline: DecisionSummary;
  candidate: DecisionSummary;
}

export interface Counted {
  decisions: number;
  frauds: number;
}

export type ChangeCounts = Record<DecisionChange, Counted>;

export interface SideFigures {
  review: number;
  block: number;
  /** Review or block decisions; precision and recall of them against the truth. */
  alerts: { count: number; frauds: number; precision: number | null; recall: number | null };
  blocks: { count: number; frauds: number; precision: number | null; recall: number | null };
  /** Alerts the suppressor let through (one per card per period unless escalated). */
  published: number;
}

export interface BacktestReport {
  /** Event times of the first and last compared transaction. */
  period: { from: string | null; to: string | null };
  transactions: { replayed: number; compared: number; notCompared: number; duplicateOrLate: number; frauds: number };
  baseline: SideFigures;
  candidate: SideFigures;
  changes: { total: number; transitions: Record<string, number> } & ChangeCounts;
  /** Per cause (rule id or MODEL_CAUSE); a transaction with several causes counts under each. */
  byRule: Array<{ rule: string } & ChangeCounts>;
  /** Per reason code of the alerting side (the candidate's for `changed`); an alert counts under each code it carries. */
  byReason: Array<{ code: string } & ChangeCounts>;
  /** Up to `sampleSize` changed decisions, chosen by a hash of the transaction id (the same whatever the read order). */
  sample: ChangedDecision[];
}

const RANK: Readonly<Record<DecisionAction, number>> = { allow: 0, review: 1, block: 2 };

export function changeOf(baseline: DecisionAction, candidate: DecisionAction): DecisionChange | undefined {
  if (baseline === candidate) return undefined;
  if (RANK[baseline] === 0) return 'added';
  if (RANK[candidate] === 0) return 'removed';
  return 'changed';
}

/**
 * Why a decision changed: every rule whose live hit differs between the sides (fired on one side only, or fired on
 * both with another score or action), in baseline then candidate order, and MODEL_CAUSE when the model scores
 * differ. Features are the same on both sides, so nothing else can change a decision.
 */
export function changeCauses(baseline: SideDecision, candidate: SideDecision): string[] {
  const before = new Map(baseline.liveHits.map((h) => [h.ruleId, h]));
  const after = new Map(candidate.liveHits.map((h) => [h.ruleId, h]));
  const causes: string[] = [];
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(id);
    const a = after.get(id);
    if (b === undefined || a === undefined || b.score !== a.score || b.action !== a.action) causes.push(id);
  }
  if (baseline.modelScore !== candidate.modelScore) causes.push(MODEL_CAUSE);
  return causes;
}

function summary(d: SideDecision): DecisionSummary {
  return {
    score: d.score,
    action: d.action,
    reasons: d.reasons.map((r) => ({ code: r.code, message: r.message })),
    ...(d.modelScore !== undefined ? { modelScore: d.modelScore } : {}),
  };
}

/** The changed decision of a compared row, or undefined when both sides decided the same action. */
export function changedDecision(row: ComparedRow): ChangedDecision | undefined {
  const change = changeOf(row.baseline.action, row.candidate.action);
  if (change === undefined) return undefined;
  const t = row.transaction;
  return {
    transactionId: t.transactionId,
    cardToken: t.cardToken,
    ...(t.maskedPan !== undefined ? { maskedPan: t.maskedPan } : {}),
    eventTime: new Date(t.eventTimeMs).toISOString(),
    amount: t.amount,
    currency: t.currency,
    fraud: row.fraud,
    change,
    causes: changeCauses(row.baseline, row.candidate),
    baseline: summary(row.baseline),
    candidate: summary(row.candidate),
  };
}

const emptyCounts = (): ChangeCounts => ({ added: { decisions: 0, frauds: 0 }, removed: { decisions: 0, frauds: 0 }, changed: { decisions: 0, frauds: 0 } });

class SideTally {
  review = 0;
  block = 0;
  alertFrauds = 0;
  blockFrauds = 0;
  published = 0;

  add(d: SideDecision, fraud: boolean): void {
    if (d.action === 'review') this.review++;
    if (d.action === 'block') this.block++;
    if (d.action !== 'allow' && fraud) this.alertFrauds++;
    if (d.action === 'block' && fraud) this.blockFrauds++;
    if (d.published) this.published++;
  }

  figures(frauds: number): SideFigures {
    const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
    const alerts = this.review + this.block;
    return {
      review: this.review,
      block: this.block,
      alerts: { count: alerts, frauds: this.alertFrauds, precision: ratio(this.alertFrauds, alerts), recall: ratio(this.alertFrauds, frauds) },
      blocks: { count: this.block, frauds: this.blockFrauds, precision: ratio(this.blockFrauds, this.block), recall: ratio(this.blockFrauds, frauds) },
      published: this.published,
    };
  }
}

/** Accumulates compared rows into the report; memory grows with the number of rules and reasons, not of rows. */
export class BacktestDiff {
  private replayed = 0;
  private notCompared = 0;
  private duplicateOrLate = 0;
  private compared = 0;
  private frauds = 0;
  private first: number | undefined;
  private last: number | undefined;
  private readonly baseline = new SideTally();
  private readonly candidate = new SideTally();
  private readonly changes = emptyCounts();
  private readonly transitions = new Map<string, number>();
  private readonly byRule = new Map<string, ChangeCounts>();
  private readonly byReason = new Map<string, ChangeCounts>();
  /** The changed decisions with the smallest id hashes so far, at most sampleSize. */
  private readonly sample: Array<{ key: string; entry: ChangedDecision }> = [];

  constructor(private readonly sampleSize = 10) {}

  /** A replayed row the comparison leaves out (before the compared period). */
  skip(): void {
    this.replayed++;
    this.notCompared++;
  }

  /** A redelivered (duplicate) or too-late transaction: it changed no state, so it is not a decision to compare. */
  skipDuplicateOrLate(): void {
    this.replayed++;
    this.duplicateOrLate++;
  }

  /** Adds a compared row; returns its changed decision when the two sides' actions differ. */
  add(row: ComparedRow): ChangedDecision | undefined {
    this.replayed++;
    this.compared++;
    const time = row.transaction.eventTimeMs;
    if (this.first === undefined || time < this.first) this.first = time;
    if (this.last === undefined || time > this.last) this.last = time;
    if (row.fraud) this.frauds++;
    this.baseline.add(row.baseline, row.fraud);
    this.candidate.add(row.candidate, row.fraud);
    const changed = changedDecision(row);
    if (changed === undefined) return undefined;
    const count = (counts: ChangeCounts) => {
      counts[changed.change].decisions++;
      if (row.fraud) counts[changed.change].frauds++;
    };
    count(this.changes);
    const transition = `${changed.baseline.action} → ${changed.candidate.action}`;
    this.transitions.set(transition, (this.transitions.get(transition) ?? 0) + 1);
    for (const cause of changed.causes) count(getOrCreate(this.byRule, cause));
    // What the alerts that came or went say: the alerting side's reason codes, each counted once per alert.
    const alerting = changed.change === 'removed' ? changed.baseline : changed.candidate;
    const codes = new Set(alerting.reasons.map((r) => r.code));
    if (codes.size === 0) codes.add('(no reason)');
    for (const code of codes) count(getOrCreate(this.byReason, code));
    this.keepInSample(changed);
    return changed;
  }

  result(): BacktestReport {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    const total = (c: ChangeCounts) => c.added.decisions + c.removed.decisions + c.changed.decisions;
    const rows = <K extends string>(map: Map<string, ChangeCounts>, key: K) =>
      [...map].map(([name, counts]) => ({ [key]: name, ...counts }) as { [P in K]: string } & ChangeCounts).sort((a, b) => total(b) - total(a));
    return {
      period: { from: iso(this.first), to: iso(this.last) },
      transactions: { replayed: this.replayed, compared: this.compared, notCompared: this.notCompared, duplicateOrLate: this.duplicateOrLate, frauds: this.frauds },
      baseline: this.baseline.figures(this.frauds),
      candidate: this.candidate.figures(this.frauds),
      changes: { total: total(this.changes), transitions: Object.fromEntries(this.transitions), ...this.changes },
      byRule: rows(this.byRule, 'rule'),
      byReason: rows(this.byReason, 'code'),
      sample: this.sample.map((s) => s.entry).sort((a, b) => a.eventTime.localeCompare(b.eventTime) || a.transactionId.localeCompare(b.transactionId)),
    };
  }

  private keepInSample(entry: ChangedDecision): void {
    if (this.sampleSize === 0) return;
    const key = createHash('sha256').update(entry.transactionId).digest('hex');
    if (this.sample.length >= this.sampleSize && key >= this.sample[this.sample.length - 1].key) return;
    this.sample.push({ key, entry });
    this.sample.sort((a, b) => (a.key < b.key ? -1 : 1));
    if (this.sample.length > this.sampleSize) this.sample.pop();
  }
}

function getOrCreate(map: Map<string, ChangeCounts>, key: string): ChangeCounts {
  let counts = map.get(key);
  if (counts === undefined) map.set(key, (counts = emptyCounts()));
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// The terminal report

const percent = (v: number | null) => (v === null ? '    – ' : `${(v * 100).toFixed(1).padStart(5)} %`);
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const counted = (c: Counted) => `${String(c.decisions).padStart(6)} (${c.frauds} fraud)`;

export interface SideNames {
  baseline: string;
  candidate: string;
}

export function formatBacktest(report: BacktestReport, names: SideNames): string {
  const t = report.transactions;
  const lines = [
    `compared ${t.compared} transactions, ${report.period.from ?? '–'} .. ${report.period.to ?? '–'}, ${t.frauds} fraud; ${t.replayed} replayed (${t.notCompared} before the compared period, ${t.duplicateOrLate} duplicate or too late)`,
    `baseline:  ${names.baseline}`,
    `candidate: ${names.candidate}`,
    'side      |  review |   block | alerts: precision / recall | blocks: precision / recall | published after suppression',
  ];
  const side = (name: string, f: SideFigures) =>
    `${name.padEnd(9)} | ${String(f.review).padStart(7)} | ${String(f.block).padStart(7)} | ${percent(f.alerts.precision)} / ${percent(f.alerts.recall)}          | ${percent(f.blocks.precision)} / ${percent(f.blocks.recall)}          | ${f.published}`;
  lines.push(side('baseline', report.baseline), side('candidate', report.candidate));
  const c = report.changes;
  lines.push(
    `decisions changed: ${c.total}; alerts added ${c.added.decisions} (${c.added.frauds} fraud), removed ${c.removed.decisions} (${c.removed.frauds} fraud), review ↔ block ${c.changed.decisions} (${c.changed.frauds} fraud); alerts ${signed(report.candidate.alerts.count - report.baseline.alerts.count)}, blocks ${signed(report.candidate.blocks.count - report.baseline.blocks.count)}`,
  );
  if (c.total > 0) {
    lines.push(`  transitions: ${Object.entries(c.transitions).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    const table = (title: string, rows: Array<{ name: string } & ChangeCounts>) => {
      lines.push(`${title.padEnd(32)} |      added (fraud) |    removed (fraud) | review↔block (fraud)`);
      for (const r of rows) lines.push(`  ${r.name.padEnd(30)} | ${counted(r.added).padStart(18)} | ${counted(r.removed).padStart(18)} | ${counted(r.changed).padStart(18)}`);
    };
    table('by rule (cause of the change)', report.byRule.map((r) => ({ ...r, name: r.rule })));
    table('by reason (of the alerts)', report.byReason.map((r) => ({ ...r, name: r.code })));
    lines.push(`sample of ${report.sample.length} changed decisions:`);
    for (const s of report.sample) {
      const reasons = (d: DecisionSummary) => (d.reasons.length === 0 ? 'no reason' : d.reasons.map((r) => `${r.code}: ${r.message}`).join('; '));
      lines.push(
        `  ${s.eventTime} ${s.transactionId} card ${s.maskedPan ?? s.cardToken.slice(0, 12)} ${s.amount} ${s.currency}${s.fraud ? ' FRAUD' : ''} — ${s.change} by ${s.causes.join(', ') || '?'}`,
        `    baseline  ${s.baseline.action.padEnd(6)} ${s.baseline.score.toFixed(3)}  ${reasons(s.baseline)}`,
        `    candidate ${s.candidate.action.padEnd(6)} ${s.candidate.score.toFixed(3)}  ${reasons(s.candidate)}`,
      );
    }
  }
  return lines.join('\n');
}
