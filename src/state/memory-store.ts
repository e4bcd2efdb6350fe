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
import { computeFeaturesInto, featureRows, type TransactionUpdates } from './features';
import { LAYOUTS, NO_TIME, readHeader, type Layout } from './layout';
import { STATE_HORIZON_MS, resolveOptions, stateTtlMs, type StateOptions } from './options';
import { historyEntry } from './history';
import type { AppliedTransaction, FeatureStore, LabelOutcome } from './store';
import { labelOutcomeOf, reportUpdate } from './store-telemetry';
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
  // One map per kind, keyed by the entity's own id: no key string built per lookup.
  const entities = Object.fromEntries(LINKED_KINDS.map((kind) => [kind, new Map<string, EntityState>()])) as Record<LinkedKind, Map<string, EntityState>>;
  let newestEventMs = NO_TIME;
  let sinceSweep = 0;

  function lastOf(layout: Layout, aggregate: Buffer | null): number {
    return aggregate === null ? NO_TIME : readHeader(layout, aggregate, 'last');
  }

  function sweepIdle(): void {
    const cutoff = newestEventMs - ttlMs;
    for (const [token, card] of cards) if (lastOf(LAYOUTS.card, card.aggregate) < cutoff) cards.delete(token);
    for (const kind of LINKED_KINDS) {
      const layout = LAYOUTS[LAYOUT_OF[kind]];
      for (const [id, entity] of entities[kind]) if (lastOf(layout, entity.aggregate) < cutoff) entities[kind].delete(id);
    }
  }

  function applyOne(txn: CardTransaction, features: Float64Array): AppliedTransaction {
    let card = cards.get(txn.cardToken);
    if (card === undefined) cards.set(txn.cardToken, (card = newCardState()));
    const cardEvent = cardEventOf(txn, state);
    const updates: TransactionUpdates = { card: applyCardEvent(LAYOUTS.card, card, cardEvent, params) };
    reportUpdate(telemetry, 'card', updates.card.code);
    const entityEvent = entityEventOf(txn, cardEvent);
    for (const kind of LINKED_KINDS) {
      const id = linkedIdOf(txn, kind);
      if (id === undefined) continue;
      const byId = entities[kind];
      let entity = byId.get(id);
      if (entity === undefined) byId.set(id, (entity = newEntityState()));
      const update = applyEntityEvent(LAYOUTS[LAYOUT_OF[kind]], entity, entityEvent, params);
      reportUpdate(telemetry, kind, update.code);
      updates[kind] = update;
    }
    newestEventMs = Math.max(newestEventMs, txn.eventTimeMs);
    return {
      features: computeFeaturesInto(features, txn, updates, state),
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
        const entity = id === '' ? undefined : entities[kind].get(id);
        if (entity !== undefined) recordAcceptorLabel(LAYOUTS.acceptor, entity, label.transactionId, label.label, eventTimeMs);
      }
    }
    const outcome = labelOutcomeOf(resolved.code);
    telemetry.emit('state.label', { outcome });
    return { transactionId: label.transactionId, outcome };
  }

  return {
    async applyBatch(txns) {
      const rows = featureRows(txns.length);
      const applied = txns.map((txn, i) => applyOne(txn, rows[i]));
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
      for (const kind of LINKED_KINDS) entities[kind].clear();
    },
  };
}
