/**
 * The in-memory feature store, for the embedded demo, training and backtests: the same bytes, the same update
 * steps (twin.ts) and the same feature arithmetic as the Redis store, so a model trained on its features sees
 * what production computes. Replay transactions and labels in time order through applyBatch and recordLabels.
 *
 * Redis forgets an idle entity when its keys expire (wall clock); here an entity idle for the same span of event
 * time is forgotten, which is what a replay at real speed would see.
 */
import type { CardLabel, CardTransaction } from '../contract/transaction';
import { Telemetry } from '../telemetry/events';
import { ReturnCode } from './codes';
import { LAYOUT_OF, LINKED_KINDS, cardEventOf, entityEventOf, linkedIdOf, type LinkedKind } from './entity-events';
import { computeFeatures, type TransactionUpdates } from './features';
import { LAYOUTS, NO_TIME, readHeader, type Layout } from './layout';
import { STATE_HORIZON_MS, resolveOptions, stateTtlMs, type StateOptions } from './options';
import { historyEntry } from './history';
import type { AppliedTransaction, FeatureStore, LabelOutcome } from './store';
import { labelOutcomeOf, reportUpdates } from './store-telemetry';
import {
  applyCardEvent,
  applyEntityEvent,
  newCardState,
  newEntityState,
  recordAcceptorLabel,
  recordCardLabel,
  type CardState,
  type EntityState,
} from './twin';

/** Idle entities are swept after this many transactions (a full scan, so not too often). */
const SWEEP_EVERY = 50_000;

export function createMemoryStore(options: Partial<StateOptions> & { telemetry?: Telemetry } = {}): FeatureStore {
  const state = resolveOptions(options);
  const telemetry = options.telemetry ?? new Telemetry();
  const params = { allowedLatenessMs: state.allowedLatenessMs, horizonMs: STATE_HORIZON_MS };
  const ttlMs = stateTtlMs();
  const cards = new Map<string, CardState>();
  const entities = new Map<string, EntityState>();
  let newestEventMs = NO_TIME;
  let sinceSweep = 0;

  const entityKey = (kind: LinkedKind, id: string) => `${kind}\u0000${id}`;

  function lastOf(layout: Layout, aggregate: Buffer | null): number {
    return aggregate === null ? NO_TIME : readHeader(layout, aggregate, 'last');
  }

  function sweepIdle(): void {
    const cutoff = newestEventMs - ttlMs;
    for (const [token, card] of cards) if (lastOf(LAYOUTS.card, card.aggregate) < cutoff) cards.delete(token);
    for (const [key, entity] of entities) {
      const kind = key.slice(0, key.indexOf('\u0000')) as LinkedKind;
      if (lastOf(LAYOUTS[LAYOUT_OF[kind]], entity.aggregate) < cutoff) entities.delete(key);
    }
  }

  function applyOne(txn: CardTransaction): AppliedTransaction {
    let card = cards.get(txn.cardToken);
    if (card === undefined) cards.set(txn.cardToken, (card = newCardState()));
    const cardEvent = cardEventOf(txn, state);
    const updates: TransactionUpdates = { card: applyCardEvent(LAYOUTS.card, card, cardEvent, params) };
    const entityEvent = entityEventOf(txn, cardEvent.fingerprint);
    for (const kind of LINKED_KINDS) {
      const id = linkedIdOf(txn, kind);
      if (id === undefined) continue;
      const key = entityKey(kind, id);
      let entity = entities.get(key);
      if (entity === undefined) entities.set(key, (entity = newEntityState()));
      updates[kind] = applyEntityEvent(LAYOUTS[LAYOUT_OF[kind]], entity, entityEvent, params);
    }
    reportUpdates(telemetry, updates);
    newestEventMs = Math.max(newestEventMs, txn.eventTimeMs);
    return {
      features: computeFeatures(txn, updates, state),
      duplicate: updates.card.code === ReturnCode.Duplicate,
      tooOld: updates.card.code === ReturnCode.TooOld,
    };
  }

  function recordOne(label: CardLabel): LabelOutcome {
    const card = cards.get(label.cardToken);
    const resolved =
      card === undefined
        ? { code: ReturnCode.LabelUnknownTransaction as const }
        : recordCardLabel(LAYOUTS.card, card, label.transactionId, label.label, STATE_HORIZON_MS);
    if (resolved.reference !== undefined) {
      const { terminalId, merchantId, eventTimeMs } = resolved.reference;
      for (const [kind, id] of [['terminal', terminalId], ['merchant', merchantId]] as const) {
        const entity = id === '' ? undefined : entities.get(entityKey(kind, id));
        if (entity !== undefined) recordAcceptorLabel(LAYOUTS.acceptor, entity, label.transactionId, label.label, eventTimeMs);
      }
    }
    const outcome = labelOutcomeOf(resolved.code);
    telemetry.emit('state.label', { outcome });
    return { transactionId: label.transactionId, outcome };
  }

  return {
    async applyBatch(txns) {
      const applied = txns.map(applyOne);
      sinceSweep += txns.length;
      if (sinceSweep >= SWEEP_EVERY) {
        sinceSweep = 0;
        sweepIdle();
      }
      return applied;
    },
    async recordLabels(labels) {
      return labels.map(recordOne);
    },
    async cardHistory(cardToken) {
      const card = cards.get(cardToken);
      if (card === undefined) return [];
      return [...card.references].map(([fingerprint, reference]) => historyEntry(Buffer.from(fingerprint, 'latin1'), reference));
    },
    async ping() {},
    async close() {
      cards.clear();
      entities.clear();
    },
  };
}
