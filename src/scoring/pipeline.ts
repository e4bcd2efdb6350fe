/**
 * Scoring one chunk of transactions, the same code for the Kafka consumer, the embedded HTTP mode, the demo and
 * backtests: one state round trip → rules → one model call → decision policy → alerts (suppressed, awaited) →
 * every decision to the scores sink when there is one. It returns only after every side effect is acknowledged,
 * so the caller may then commit.
 */
import type { AlertMessage, Reason } from '../contract/schemas';
import type { CardTransaction } from '../contract/transaction';
import { transactionAlert } from '../alerts/alert';
import { actionLevel, type AlertSuppressor } from '../alerts/suppression';
import type { AlertSink, DecisionRecord, DecisionSink } from '../alerts/sinks';
import { decide, type Decision, type DecisionPolicy } from '../decision/policy';
import type { ModelScorer } from '../model/scorer';
import type { RuleHit, RuleSet } from '../rules';
import type { Suspect } from '../compromise/detector';
import type { ExposureIndex } from '../compromise/exposures';
import type { CompromiseStore } from '../compromise/store';
import { FEATURE_NAMES } from '../state/features';
import type { FeatureStore } from '../state/store';
import type { Telemetry } from '../telemetry/events';

export interface ScoringDependencies {
  store: FeatureStore;
  /** The rule set in force now (hot-reloaded underneath). */
  rules(): RuleSet;
  /** The model in force now, or undefined for rules only. */
  model(): ModelScorer | undefined;
  /** A challenger model scored beside the champion that never decides (CHALLENGER_MODEL_DIR), when one is loaded. */
  challenger?(): ModelScorer | undefined;
  /** Each decision record carries the feature vector by name (SCORES_INCLUDE_FEATURES). */
  decisionFeatures?: boolean;
  policy: DecisionPolicy;
  suppressor: AlertSuppressor;
  alerts: AlertSink;
  decisions?: DecisionSink;
  telemetry: Telemetry;
  /** Wall clock, epoch ms (alert createdAt, latency metrics). */
  now(): number;
  /** How many model-feature reasons an alert carries. */
  modelReasons?: number;
  /** Compromise detection's part of the transaction path; absent when it is switched off. */
  compromise?: CompromiseHooks;
}

export interface CompromiseHooks {
  /** Each transaction's visits are logged beside the state round trip (in parallel: no added latency). */
  visits: Pick<CompromiseStore, 'recordVisits'>;
  /** The cards warned so far: features card.exposed, card.days_since_exposure, card.exposure_evidence. */
  exposures: ExposureIndex;
  /** Cards the service blocks are weak evidence for the detector; absent when that is switched off. */
  suspects?: { add(suspects: readonly Suspect[]): Promise<void> };
}

export interface ScoredTransaction {
  txn: CardTransaction;
  features: Float64Array;
  /** The transaction was already applied (a redelivery): state unchanged, decision recomputed, alert id the same. */
  duplicate: boolean;
  hits: RuleHit[];
  modelScore?: number;
  decision: Decision;
  /** The challenger's score and the action the policy would take with it instead of the champion's; never acted on. */
  challenger?: { version: string; score: number; action: Decision['action'] };
  /** The alert when the decision was review or block, published unless suppressed. */
  alert?: AlertMessage;
  suppressed: boolean;
}

export async function scoreChunk(deps: ScoringDependencies, txns: readonly CardTransaction[]): Promise<ScoredTransaction[]> {
  if (txns.length === 0) return [];
  const started = performance.now();
  const [applied] = await Promise.all([deps.store.applyBatch(txns), deps.compromise?.visits.recordVisits(txns)]);
  const ruleSet = deps.rules();
  const model = deps.model();
  const features = applied.map((a) => a.features);
  deps.compromise?.exposures.annotate(txns, features);
  const modelScores = model ? model.scoreBatch(features) : undefined;
  const challenger = deps.challenger?.();
  const challengerScores = challenger ? challenger.scoreBatch(features) : undefined;
  // The model's fitted combination with the rules (policy step 2) travels with the model, so a hot swap swaps both.
  const combination = model?.metadata.combination;

  const scored: ScoredTransaction[] = txns.map((txn, i) => {
    const hits = ruleSet.evaluate(txn, features[i]);
    const modelScore = modelScores ? modelScores[i] : undefined;
    const decision = decide({ hits, modelScore, combination }, deps.policy);
    const row: ScoredTransaction = { txn, features: features[i], duplicate: applied[i].duplicate, hits, modelScore, decision, suppressed: false };
    if (challenger && challengerScores) {
      // Decided as if it were the champion (its own fitted combination, the same rules and thresholds), no explanations.
      const score = challengerScores[i];
      row.challenger = { version: challenger.version, score, action: decide({ hits, modelScore: score, combination: challenger.metadata.combination }, deps.policy).action };
    }
    return row;
  });

  // Explanations cost (features + 1) model rows per row: only for the rows that alert, in one call.
  const alerting = scored.filter((s) => s.decision.action !== 'allow');
  if (model && alerting.length > 0) {
    const explanations = model.explain(alerting.map((s) => s.features), deps.modelReasons ?? 3);
    alerting.forEach((s, i) => {
      s.decision = decide({ hits: s.hits, modelScore: s.modelScore, modelReasons: explanations[i], combination }, deps.policy);
    });
  }
  const createdAtMs = deps.now();
  const candidates = alerting.filter((s) => s.decision.action !== 'allow');
  for (const s of candidates) {
    s.alert = transactionAlert({
      txn: s.txn,
      score: s.decision.score,
      action: s.decision.action as 'review' | 'block',
      reasons: s.decision.reasons,
      rulesVersion: ruleSet.version,
      model: model && s.modelScore !== undefined ? { version: model.version, score: s.modelScore } : undefined,
      createdAtMs,
    });
  }
  const outcomes = await deps.suppressor.check(
    candidates.map((s) => ({
      cardToken: s.txn.cardToken,
      alertId: s.alert!.alertId,
      eventTimeMs: s.txn.eventTimeMs,
      level: actionLevel(s.alert!.action),
      publication: JSON.stringify(s.alert),
    })),
  );
  const toPublish: AlertMessage[] = [];
  candidates.forEach((s, i) => {
    const { verdict, firstPublication } = outcomes[i];
    if (verdict === 'suppressed') s.suppressed = true;
    else {
      if (firstPublication !== undefined) republishAsFirst(s, JSON.parse(firstPublication) as AlertMessage);
      toPublish.push(s.alert!);
    }
  });

  const suspects = deps.compromise?.suspects;
  const blocked = suspects ? scored.filter((s) => s.decision.action === 'block' && !s.duplicate).map((s) => ({ cardToken: s.txn.cardToken, eventTimeMs: s.txn.eventTimeMs })) : [];
  await Promise.all([
    deps.alerts.publish(toPublish),
    deps.decisions ? deps.decisions.publish(scored.map((s) => decisionRecord(s, ruleSet.version, model?.version, deps.decisionFeatures === true))) : undefined,
    blocked.length > 0 ? suspects!.add(blocked) : undefined,
  ]);

  emitTelemetry(deps, scored, toPublish, candidates.length - toPublish.length, (performance.now() - started) / 1000);
  return scored;
}

/**
 * A redelivered transaction is rescored on the state as it is by then; its alert and decision are those of the
 * first publication (the suppressor's memo), so an alert id never carries two contents.
 */
function republishAsFirst(s: ScoredTransaction, first: AlertMessage): void {
  s.alert = first;
  s.decision = { ...s.decision, score: first.score, action: first.action as 'review' | 'block', reasons: first.reasons };
  if (first.model !== undefined) s.modelScore = first.model.score;
}

function decisionRecord(s: ScoredTransaction, rulesVersion: string, modelVersion: string | undefined, withFeatures: boolean): DecisionRecord {
  const record: DecisionRecord = {
    transactionId: s.txn.transactionId,
    cardToken: s.txn.cardToken,
    timestamp: s.txn.timestamp,
    score: s.decision.score,
    action: s.decision.action,
    reasons: s.decision.reasons.map((r: Reason) => r.code),
    ...(s.modelScore !== undefined ? { modelScore: s.modelScore, modelVersion } : {}),
    rulesVersion,
    alertId: s.alert && !s.suppressed ? s.alert.alertId : undefined,
    maskedPan: s.txn.maskedPan,
    amount: s.txn.amount,
    currency: s.txn.currency,
    merchantId: s.txn.merchantId,
    terminalId: s.txn.terminalId,
    mcc: s.txn.mcc,
    country: s.txn.country,
    channel: s.txn.channel,
  };
  if (s.challenger) {
    record.challengerScore = s.challenger.score;
    record.challengerVersion = s.challenger.version;
  }
  if (withFeatures) record.features = namedFeatures(s.features);
  return record;
}

/** The vector by catalog name, as scored (exposure features included): a training row for `train --scores`. */
function namedFeatures(vector: Float64Array): Record<string, number> {
  const named: Record<string, number> = {};
  FEATURE_NAMES.forEach((name, j) => (named[name] = vector[j]));
  return named;
}

function emitTelemetry(deps: ScoringDependencies, scored: ScoredTransaction[], published: AlertMessage[], suppressed: number, seconds: number): void {
  const { telemetry } = deps;
  const now = deps.now();
  const perTransaction = seconds / scored.length;
  for (const s of scored) {
    telemetry.emit('scorer.decision', { action: s.decision.action, seconds: perTransaction, score: s.decision.score, modelScore: s.modelScore, challenger: s.challenger });
    telemetry.emit('scorer.event_to_decision', { seconds: Math.max(0, now - s.txn.eventTimeMs) / 1000 });
    for (const hit of s.hits) telemetry.emit('scorer.rule_hit', { rule: hit.ruleId, action: hit.action, shadow: hit.shadow });
  }
  if (suppressed > 0) telemetry.emit('alerts.suppressed', { count: suppressed });
  telemetry.emit('scorer.chunk', { size: scored.length, seconds, alerts: published.length });
}
