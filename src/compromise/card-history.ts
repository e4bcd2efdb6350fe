/**
 * The card history an offline replay needs, without the feature arithmetic: each card's transactions within
 * STATE_HORIZON_MS of its newest, with their labels — the same references, horizon and label outcomes as the state
 * stores (twin.ts recordCardLabel), at a fraction of their cost. The service reads the state's own references
 * (FeatureStore.cardHistory) instead; a unit test keeps the two in agreement.
 */
import type { CardLabel, CardTransaction } from '../contract/transaction';
import { transactionFingerprint } from '../state/entity-events';
import { STATE_HORIZON_MS } from '../state/options';
import type { CardHistoryEntry, LabelOutcome } from '../state/store';
import { MINUTE_MS } from './store';

interface CardLog {
  newestMs: number;
  entries: Map<string, CardHistoryEntry>;
  /** Newest time at the last prune: pruned once a week of event time, as the state prunes references. */
  prunedAtMs: number;
}

const PRUNE_PERIOD_MS = 7 * 86_400_000;

export class CardHistoryLog {
  private readonly cards = new Map<string, CardLog>();

  constructor(private readonly horizonMs = STATE_HORIZON_MS) {}

  record(txns: readonly CardTransaction[]): void {
    for (const txn of txns) {
      let card = this.cards.get(txn.cardToken);
      if (card === undefined) this.cards.set(txn.cardToken, (card = { newestMs: txn.eventTimeMs, entries: new Map(), prunedAtMs: txn.eventTimeMs }));
      const fingerprint = transactionFingerprint(txn.transactionId).toString('hex');
      const known = card.entries.get(fingerprint);
      if (known !== undefined && known.atMs >= card.newestMs - this.horizonMs) continue; // a redelivery
      const entry: CardHistoryEntry = { fingerprint, atMs: Math.floor(txn.eventTimeMs / MINUTE_MS) * MINUTE_MS };
      if (txn.terminalId !== undefined) entry.terminalId = txn.terminalId;
      if (txn.merchantId !== undefined) entry.merchantId = txn.merchantId;
      card.entries.set(fingerprint, entry);
      if (txn.eventTimeMs > card.newestMs) card.newestMs = txn.eventTimeMs;
      if (card.newestMs - card.prunedAtMs >= PRUNE_PERIOD_MS) {
        for (const [id, e] of card.entries) if (e.atMs < card.newestMs - this.horizonMs) card.entries.delete(id);
        card.prunedAtMs = card.newestMs;
      }
    }
  }

  recordLabels(labels: readonly CardLabel[]): LabelOutcome[] {
    return labels.map((label) => {
      const card = this.cards.get(label.cardToken);
      const entry = card?.entries.get(transactionFingerprint(label.transactionId).toString('hex'));
      if (card === undefined || entry === undefined || entry.atMs < card.newestMs - this.horizonMs) {
        return { transactionId: label.transactionId, outcome: 'unknown_transaction' };
      }
      const outcome = entry.label === label.label ? 'duplicate' : entry.label === undefined ? 'applied' : 'changed';
      entry.label = label.label;
      return { transactionId: label.transactionId, outcome };
    });
  }

  history(cardToken: string): CardHistoryEntry[] {
    return [...(this.cards.get(cardToken)?.entries.values() ?? [])].map((e) => ({ ...e }));
  }
}
