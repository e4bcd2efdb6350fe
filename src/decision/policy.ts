/**
 * The decision policy: how rule hits and the model's score become one score, one action and the reasons. This
 * comment is the written policy; change the two together.
 *
 * 1. Only live hits count. Shadow hits are evaluated and counted (to tune a rule before it goes live) but never
 *    change a score, an action or a reason.
 *
 * 2. Scores combine as independent evidence (a "noisy OR"):
 *        ruleScore = 1 − Π (1 − hit.score)          over the live hits (0 when none)
 *        score     = 1 − (1 − ruleScore)(1 − modelScore)    (score = ruleScore when there is no model)
 *    Why: two weak signals together are stronger than either (velocity 0.45 and a first foreign country 0.4 give
 *    0.67), the result stays within 0–1 however many rules fire, the order of rules does not matter, and a rule
 *    that did not fire contributes nothing. The model is one more piece of evidence, never a veto: a low model
 *    score cannot lower what the rules found, because the rules are the analysts' explicit policy and must stay
 *    visible even when the model disagrees. The cost: correlated rules (10-minute and 24-hour velocity) count
 *    twice, which analysts tune through each rule's score.
 *    With no model (MODEL_DIR unset, or the model failed to load) the same formula runs on rules alone.
 *
 * 3. The action is the higher of:
 *      - the score's action: score ≥ blockThreshold → block; score ≥ reviewThreshold → review; else allow;
 *      - every live hit's own action: a `review` rule asks for at least review, a `block` rule forces block, an
 *        `evidence` rule asks for nothing by itself (its score still counts): for weak signals such as a first
 *        foreign country or an amount spike, which alert only together with other evidence or the model.
 *    Why: an analyst who writes "a card on the blocklist → block" must get a block whatever REVIEW_THRESHOLD and
 *    BLOCK_THRESHOLD are tuned to for the model; thresholds move for the model's sake and must not silently switch
 *    off a rule. The score is still reported as computed, not lifted to the threshold: it stays the evidence
 *    (alerts are ranked by it) and the reasons say which rule set the action.
 *
 * 4. Reasons: live hits' reasons, strongest rule first (file order between equal scores). The model's reasons are
 *    listed when the model is a main cause of the decision: its score reaches the review threshold on its own, or
 *    is at least the strongest live rule's score. They are placed by the model's score among the rules.
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

export interface DecisionInput {
  hits: readonly RuleHit[];
  /** The model's fraud score, 0–1; absent when scoring runs on rules only. */
  modelScore?: number;
  /** The model's attributions, most important first. */
  modelReasons?: readonly Reason[];
}

export interface Decision {
  score: number;
  action: DecisionAction;
  reasons: Reason[];
  /** The rules' combined score before the model joins, for the scores topic and for tuning. */
  ruleScore: number;
}

const RANK: Readonly<Record<DecisionAction | 'evidence', number>> = { allow: 0, evidence: 0, review: 1, block: 2 };

export function decide(input: DecisionInput, policy: DecisionPolicy): Decision {
  const { hits, modelScore, modelReasons } = input;
  if (modelScore !== undefined && !(modelScore >= 0 && modelScore <= 1)) {
    // A NaN here would compare false everywhere and quietly allow the transaction: a model bug must be loud.
    throw new NonRetriableError(`model score must be a number from 0 to 1, got ${modelScore}`);
  }

  let ruleScore = 0;
  let floor: DecisionAction = 'allow';
  let strongestRule = 0;
  const live: RuleHit[] = [];
  for (const hit of hits) {
    if (hit.shadow) continue;
    live.push(hit);
    ruleScore = orCombine(ruleScore, hit.score);
    if (hit.score > strongestRule) strongestRule = hit.score;
    if (hit.action !== 'evidence' && RANK[hit.action] > RANK[floor]) floor = hit.action;
  }
  const score = modelScore === undefined ? ruleScore : orCombine(ruleScore, modelScore);

  const byScore: DecisionAction = score >= policy.blockThreshold ? 'block' : score >= policy.reviewThreshold ? 'review' : 'allow';
  const action = RANK[floor] > RANK[byScore] ? floor : byScore;

  // Array.prototype.sort is stable, so equal scores keep the rule file's order.
  live.sort((a, b) => b.score - a.score);
  const reasons: Reason[] = [];
  const modelIsACause =
    modelScore !== undefined && modelReasons !== undefined && modelReasons.length > 0 && (modelScore >= policy.reviewThreshold || (live.length > 0 && modelScore >= strongestRule));
  let modelPlaced = !modelIsACause;
  for (const hit of live) {
    if (!modelPlaced && (modelScore as number) >= hit.score) {
      reasons.push(...(modelReasons as readonly Reason[]));
      modelPlaced = true;
    }
    reasons.push(hit.reason);
  }
  if (!modelPlaced) reasons.push(...(modelReasons as readonly Reason[]));

  return { score, action, reasons, ruleScore };
}

/**
 * 1 − (1 − a)(1 − b), written as a + b(1 − a) so one piece of evidence passes through exactly (0.2 stays 0.2, not
 * 0.19999999999999996, in alerts) and the clamp absorbs a last-bit overshoot.
 */
function orCombine(a: number, b: number): number {
  return Math.min(1, a + b * (1 - a));
}
