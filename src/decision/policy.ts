/**
 * The decision policy: how rule hits and the model's score become one score, one action and the reasons. This
 * comment is the written policy; change the two together.
 *
 * 1. Only live hits count. Shadow hits are evaluated and counted (to tune a rule before it goes live) but never
 *    change a score, an action or a reason.
 *
 * 2. With a model, the model and the rules combine in log-odds, with weights measured on data (the model's
 *    *combination*, shipped in its metadata.json):
 *        score = sigmoid(a · logit(modelScore) + b + Σ w_rule)       over the live hits of calibrated rules
 *    `w_rule` ≥ 0 is what the rule adds to what the model already says: when it fires, the odds of fraud are
 *    multiplied by e^w_rule. The weights are fitted by logistic regression (src/offline/combination.ts,
 *    `npm run train -- --calibrate <model dir>`) on a window before any test period (the model's validation week),
 *    with only the labels known at the model's label cut-off; the regression fits a and b too, so each rule is
 *    measured against a re-calibrated model, and the weights are then expressed on the model's own scale (a = 1,
 *    b = 0, w_rule / a_fitted): the same ranking, and a transaction no rule fired on scores exactly the model's
 *    score, so REVIEW_THRESHOLD and BLOCK_THRESHOLD keep the meaning they have for the model. (Shipping the fitted
 *    a and b instead would re-calibrate to labels known a week after the window — a fraction of the fraud, most
 *    reports come later — and shrink every score below the thresholds.)
 *    Why not a noisy OR of the rules' hand-set scores and the model, as before: a hand-set score is an analyst's
 *    guess, and as independent evidence it overrode the model — a hit on a rule scored 0.85 that is fraud 60 % of
 *    the time outranked almost every model score — while the model already sees most of what a rule sees
 *    (velocity, declines), so both counted twice and the combined policy ranked worse than the model alone.
 *    Measured weights fix both: a rule that adds nothing beyond the model gets weight 0; one that sees what the
 *    model misses (a cloned card's impossible travel) keeps a large one. Weights are never negative: a rule is
 *    evidence for fraud or nothing, never a reason to lower the score.
 *    A live rule the combination does not know — added since the fit, or never fired in the fit window —
 *    keeps its hand-set score as independent evidence on top ("noisy OR"): score = 1 − (1 − score)(1 − hit.score).
 *    Without a model (MODEL_DIR=none, or the model failed to load) that noisy OR is the whole score:
 *        score = 1 − Π (1 − hit.score)        over the live hits (0 when none)
 *    so rules alone work as analysts wrote them; and a model shipped without a combination (older artifacts) is
 *    one more piece of evidence in the same noisy OR, the policy before calibrated combinations.
 *    Where the weights live: in the model's metadata, not the rule file. They are conditional on one model (what a
 *    rule adds depends on what that model already sees), so they are fitted, evaluated and shipped with it by the
 *    data scientists; analysts keep owning the rules and their hot reload. The combination records the rules
 *    version it was fitted with; when the live rule set differs, `combinationDrift` says so (the service logs it
 *    as a warning and `npm run evaluate` prints it): a new rule still counts by its hand-set score, a calibrated
 *    rule whose condition changed keeps its old weight until the combination is refitted.
 *
 * 3. The action is the higher of:
 *      - the score's action: score ≥ blockThreshold → block; score ≥ reviewThreshold → review; else allow;
 *      - every live hit's own action: a `review` rule asks for at least review, a `block` rule forces block, an
 *        `evidence` rule asks for nothing by itself (its score or weight still counts): for weak signals such as
 *        a first foreign country or an amount spike, which alert only together with other evidence or the model.
 *    Why: an analyst who writes "a card on the blocklist → block" must get a block whatever REVIEW_THRESHOLD and
 *    BLOCK_THRESHOLD are tuned to for the model, and whatever weight the fit gave the rule; thresholds move for the
 *    model's sake and must not silently switch off a rule. The score is still reported as computed, not lifted to
 *    the threshold: it stays the evidence (alerts are ranked by it) and the reasons say which rule set the action.
 *
 * 4. Reasons, ordered by contribution: each cause is ranked by the score it would give on its own on an otherwise
 *    typical transaction — the model by sigmoid(a · logit(modelScore) + b), a calibrated rule by
 *    sigmoid(logit(baseRate) + w_rule) (baseRate: the fit window's fraud rate), an uncalibrated rule by its
 *    hand-set score — which is the same as ranking by log-odds added. Rules first by that, file order between
 *    equals. The model's reasons are listed when the model is a main cause of the decision: its own score reaches
 *    the review threshold, or is at least the strongest live rule's; they are placed by that score among the
 *    rules. (Without a combination a cause's own score is its raw score, the ranking before combinations.)
 *
 * Pure: no I/O and no clock, so the policy is unit-tested exhaustively and the same in the service and the simulator.
 */
import type { Reason } from '../contract/schemas';
import { NonRetriableError } from '../errors';
import type { RuleHit } from '../rules';

export type DecisionAction = 'allow' | 'review' | 'block';

export interface DecisionPolicy {
  /** Final score at or above which a transaction is alerted for review (REVIEW_THRESHOLD). */
  reviewThreshold: number;
  /** Final score at or above which the alert asks to block (BLOCK_THRESHOLD, not below reviewThreshold). */
  blockThreshold: number;
}

/** The fitted combination of one model with the rules (policy step 2); ships in the model's metadata.json. */
export interface Combination {
  /** The rule set version the weights were fitted with. */
  rulesVersion: string;
  /** a: the weight of logit(modelScore). */
  modelWeight: number;
  /** b: the intercept. */
  intercept: number;
  /** The fit window's fraud rate: the reference a cause's contribution is measured from (reasons' order). */
  baseRate: number;
  /** w per calibrated rule id, log-odds ≥ 0. A rule absent here is uncalibrated. */
  ruleWeights: Readonly<Record<string, number>>;
}

export interface DecisionInput {
  hits: readonly RuleHit[];
  /** The model's fraud score, 0–1; absent when scoring runs on rules only. */
  modelScore?: number;
  /** The model's attributions, most important first. */
  modelReasons?: readonly Reason[];
  /** The model's fitted combination with the rules; absent: the noisy OR (policy step 2). Unused without a model. */
  combination?: Combination;
}

export interface Decision {
  score: number;
  action: DecisionAction;
  reasons: Reason[];
  /** The rules' combined score before the model joins (noisy OR of the hand-set scores), for the scores topic and for tuning. */
  ruleScore: number;
}

const RANK: Readonly<Record<DecisionAction | 'evidence', number>> = { allow: 0, evidence: 0, review: 1, block: 2 };

/** Model scores are clamped this far from 0 and 1 before logit: a float32 0 or 1 must not become ±∞. */
export const LOGIT_EPSILON = 1e-7;

export function logit(p: number): number {
  const q = Math.min(1 - LOGIT_EPSILON, Math.max(LOGIT_EPSILON, p));
  return Math.log(q / (1 - q));
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function weightOf(combination: Combination | undefined, ruleId: string): number | undefined {
  return combination !== undefined && Object.hasOwn(combination.ruleWeights, ruleId) ? combination.ruleWeights[ruleId] : undefined;
}

export function decide(input: DecisionInput, policy: DecisionPolicy): Decision {
  const { hits, modelScore, modelReasons } = input;
  if (modelScore !== undefined && !(modelScore >= 0 && modelScore <= 1)) {
    // A NaN here would compare false everywhere and quietly allow the transaction: a model bug must be loud.
    throw new NonRetriableError(`model score must be a number from 0 to 1, got ${modelScore}`);
  }
  // The combination is conditional on its model: without a model score it does not apply.
  const combination = modelScore === undefined ? undefined : input.combination;

  let ruleScore = 0;
  let floor: DecisionAction = 'allow';
  // The model's log-odds on the combination's scale; the fitted weights of the hits are added to them.
  const modelLogOdds = combination === undefined ? 0 : combination.modelWeight * logit(modelScore as number) + combination.intercept;
  let logOdds = modelLogOdds;
  let uncalibrated = 0;
  let fittedWeights = 0; // Σ w over the calibrated live hits
  const live: Array<{ hit: RuleHit; own: number }> = [];
  const baseLogOdds = combination === undefined ? 0 : logit(combination.baseRate);
  for (const hit of hits) {
    if (hit.shadow) continue;
    ruleScore = orCombine(ruleScore, hit.score);
    if (hit.action !== 'evidence' && RANK[hit.action] > RANK[floor]) floor = hit.action;
    const weight = weightOf(combination, hit.ruleId);
    if (weight === undefined) {
      uncalibrated = orCombine(uncalibrated, hit.score);
      live.push({ hit, own: hit.score });
    } else {
      logOdds += weight;
      fittedWeights += weight;
      live.push({ hit, own: sigmoid(baseLogOdds + weight) });
    }
  }
  // The model's own score: re-calibrated by the combination, else as it came (and as it came, to the bit, for a
  // combination on the model's own scale).
  const onModelScale = combination === undefined || (combination.modelWeight === 1 && combination.intercept === 0);
  const modelOwn = modelScore === undefined ? undefined : onModelScale ? modelScore : sigmoid(modelLogOdds);
  // With no fitted rule weight to add, the model's own score as is: sigmoid(logit(p)) is p only up to rounding.
  const modelPart = combination === undefined ? (modelScore ?? 0) : fittedWeights === 0 ? (modelOwn as number) : sigmoid(logOdds);
  const score = orCombine(uncalibrated, modelPart);

  const byScore: DecisionAction = score >= policy.blockThreshold ? 'block' : score >= policy.reviewThreshold ? 'review' : 'allow';
  const action = RANK[floor] > RANK[byScore] ? floor : byScore;

  // Array.prototype.sort is stable, so equal contributions keep the rule file's order.
  live.sort((a, b) => b.own - a.own);
  const strongestRule = live.length > 0 ? live[0].own : 0;
  const reasons: Reason[] = [];
  const modelIsACause =
    modelOwn !== undefined && modelReasons !== undefined && modelReasons.length > 0 && (modelOwn >= policy.reviewThreshold || (live.length > 0 && modelOwn >= strongestRule));
  let modelPlaced = !modelIsACause;
  for (const { hit, own } of live) {
    if (!modelPlaced && (modelOwn as number) >= own) {
      reasons.push(...(modelReasons as readonly Reason[]));
      modelPlaced = true;
    }
    reasons.push(hit.reason);
  }
  if (!modelPlaced) reasons.push(...(modelReasons as readonly Reason[]));

  return { score, action, reasons, ruleScore };
}

/**
 * What an operator should hear when a model's combination and the live rule set disagree (policy step 2), or
 * undefined when they match. `ruleIds`: the live rules of the rule set in force.
 */
export function combinationDrift(combination: Combination | undefined, rulesVersion: string, ruleIds: readonly string[]): string | undefined {
  if (combination === undefined || combination.rulesVersion === rulesVersion) return undefined;
  const live = new Set(ruleIds);
  const calibrated = Object.keys(combination.ruleWeights);
  const gone = calibrated.filter((id) => !live.has(id));
  const added = ruleIds.filter((id) => !Object.hasOwn(combination.ruleWeights, id));
  return (
    `the model's rule weights were fitted with rules ${combination.rulesVersion}, the rules in force are ${rulesVersion}: ` +
    `calibrated rules keep their fitted weights (refit after changing one: npm run train -- --calibrate <model dir>)` +
    (added.length > 0 ? `; counted by their hand-set score: ${added.join(', ')}` : '') +
    (gone.length > 0 ? `; calibrated but no longer live: ${gone.join(', ')}` : '')
  );
}

/**
 * 1 − (1 − a)(1 − b), written as a + b(1 − a) so one piece of evidence passes through exactly (0.2 stays 0.2, not
 * 0.19999999999999996, in alerts) and the clamp absorbs a last-bit overshoot.
 */
function orCombine(a: number, b: number): number {
  return Math.min(1, a + b * (1 - a));
}
