/**
 * An analyst's decision: appended to the audit trail and, for a transaction alert, published as a v1 label
 * (source: analyst) — once, however often it is clicked. The label is sent inside the database transaction that
 * appends the audit row: a failed publish rolls the row back (the analyst sees an error and can retry), and a
 * second click waits on the first one's row and then finds it, so it publishes nothing.
 */
import type { LabelMessage } from '../contract/schemas';
import type { Repository } from './repository';
import { DECISIONS } from './repository';
import type { Viewer } from './views/pages';

export type DecisionOutcome =
  | { status: 'labelled' | 'recorded' | 'duplicate' }
  | { status: 'not-found' }
  | { status: 'invalid'; message: string };

/** Where analyst labels go: the labels topic (Kafka mode) or the in-process state store (embedded mode). */
export type LabelPublisher = (label: LabelMessage) => Promise<void>;

export function createDecider(repo: Repository, publish: LabelPublisher, now: () => number = Date.now) {
  return async function decide(alertId: string, decision: string, viewer: Viewer): Promise<DecisionOutcome> {
    const alert = await repo.alert(alertId);
    if (!alert) return { status: 'not-found' };
    const choices = DECISIONS[alert.type] ?? {};
    if (!(decision in choices)) return { status: 'invalid', message: `"${decision}" is not a decision for a ${alert.type} alert (${Object.keys(choices).join(', ')})` };
    const label = choices[decision];
    if (label && (!alert.transaction_id || !alert.card_token)) return { status: 'invalid', message: 'This alert names no transaction and card: it cannot become a label.' };
    let message: LabelMessage | undefined;
    const appended = await repo.db.transaction(async (tx) => {
      const fresh = await repo.appendDecision(tx, {
        alertId,
        transactionId: alert.transaction_id,
        cardToken: alert.card_token,
        decision,
        label,
        userName: viewer.name,
        userRole: viewer.role,
      });
      if (fresh && label) {
        message = { transactionId: alert.transaction_id!, cardToken: alert.card_token!, label, reportedAt: new Date(now()).toISOString(), source: 'analyst' };
        await publish(message);
      }
      return fresh;
    });
    if (!appended) return { status: 'duplicate' };
    // the page shows the label at once; the desk's labels consumer will see the same message again and change nothing
    if (message) {
      await repo.upsertLabels([{ transactionId: message.transactionId, cardToken: message.cardToken!, label: message.label, source: 'analyst', reportedAt: message.reportedAt }]);
      return { status: 'labelled' };
    }
    return { status: 'recorded' };
  };
}
