/**
 * The Redis feature store. Each entity of a batch (card, account, terminal, merchant, device, IP) is updated with
 * all of its transactions in batch order; many entities share one script call (updateBatch: on a cluster, those of
 * one slot), and the calls go as one pipeline: one round trip per batch (with a cluster, one pipeline per node, sent
 * together). Scripts return raw buckets; features.ts does the rest.
 */
import type { Cluster, Redis, ChainableCommander } from 'ioredis';
import type { CardLabel, CardTransaction } from '../contract/transaction';
import { NonRetriableError, StateUnavailableError } from '../errors';
import { Telemetry } from '../telemetry/events';
import { ReturnCode } from './codes';
import {
  LayoutMismatch,
  parseRecordAcceptorLabel,
  parseRecordCardLabel,
  parseUpdateBatch,
  visitUpdateCard,
  visitUpdateEntity,
  queueRecordAcceptorLabel,
  queueRecordCardLabel,
  queueUpdateBatch,
  type BatchEntity,
} from './commands';
import { LAYOUT_OF, LINKED_KINDS, cardEventOf, entityEventOf, linkedIdOf, type CardEvent, type EntityEvent, type LinkedKind } from './entity-events';
import { FEATURES, setCardFeatures, setLinkedFeatures } from './features';
import { cardKeys, entityKeys, hashSlot } from './keys';
import { STATE_HORIZON_MS, resolveOptions, stateTtlMs, type StateOptions } from './options';
import { defineStateCommands } from './scripts';
import type { AppliedTransaction, FeatureStore, LabelOutcome } from './store';
import { toStateError } from './redis-errors';
import { labelOutcomeOf, reportUpdate } from './store-telemetry';
import type { CardLabelUpdate } from './twin';

const FEATURE_COUNT = FEATURES.length;

export interface RedisStoreOptions extends Partial<StateOptions> {
  /** Prefix of every key (REDIS_KEY_PREFIX); tests and benchmarks use their own. */
  keyPrefix: string;
  telemetry?: Telemetry;
  /**
   * An operation that has not completed after this long fails with StateUnavailableError (default 10 s). It bounds
   * the wait of commands a cluster client queues while it has no slot map.
   */
  operationTimeoutMs?: number;
}

interface Call {
  /** Any key of the call: all of its keys share one slot. */
  key: string;
  queue(pipeline: ChainableCommander): void;
}

/** Entities per updateBatch call on a single server: a few ms of script time per call. */
const BATCH_ENTITIES = 200;

function isCluster(redis: Redis | Cluster): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StateUnavailableError(`state ${operation}: no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createRedisStore(redis: Redis | Cluster, options: RedisStoreOptions): FeatureStore {
  const state = resolveOptions(options);
  const prefix = options.keyPrefix;
  const telemetry = options.telemetry ?? new Telemetry();
  const operationTimeoutMs = options.operationTimeoutMs ?? 10_000;
  const names = defineStateCommands(redis);
  const ttlMs = stateTtlMs();
  const batchParams = { allowedLatenessMs: state.allowedLatenessMs, horizonMs: STATE_HORIZON_MS, ttlMs };

  /** Sends the calls as one pipeline per node, all at once; replies come back in call order. */
  async function roundTrip(calls: readonly Call[]): Promise<unknown[]> {
    const groups = new Map<string, number[]>();
    if (isCluster(redis)) {
      if (redis.status !== 'ready') await redis.ping(); // waits for the slot map
      calls.forEach((call, index) => {
        const node = redis.slots[hashSlot(call.key)]?.join(';') ?? '';
        const members = groups.get(node) ?? [];
        members.push(index);
        groups.set(node, members);
      });
    } else {
      groups.set('', calls.map((_, index) => index));
    }
    const replies = new Array<unknown>(calls.length);
    const errors: Error[] = [];
    await Promise.all(
      [...groups.values()].map(async (members) => {
        const pipeline = redis.pipeline();
        for (const index of members) calls[index].queue(pipeline);
        const results = (await pipeline.exec()) ?? [];
        results.forEach(([error, reply], position) => {
          if (error) errors.push(error);
          else replies[members[position]] = reply;
        });
      }),
    );
    // A retriable failure anywhere means a retry can succeed; report that one over a permanent one.
    if (errors.length > 0) throw errors.map((error) => toStateError('round trip', error)).sort((a, b) => Number(b.retriable) - Number(a.retriable))[0];
    return replies;
  }

  async function guarded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(work(), operationTimeoutMs, operation);
    } catch (error) {
      const failure = toStateError(operation, error);
      telemetry.emit('state.error', { operation, error: failure.message });
      throw failure;
    }
  }

  function mismatch(script: string): NonRetriableError {
    return new NonRetriableError(`state: ${script} found aggregates of another layout version; migrate or clear the state before running this version`);
  }

  async function applyBatch(txns: readonly CardTransaction[]): Promise<AppliedTransaction[]> {
    if (txns.length === 0) return [];
    const started = process.hrtime.bigint();
    const cardGroups = new Map<string, { events: CardEvent[]; txns: number[] }>();
    const entityGroups = new Map<string, { kind: LinkedKind; id: string; events: EntityEvent[]; txns: number[] }>();
    txns.forEach((txn, index) => {
      const card = cardGroups.get(txn.cardToken) ?? { events: [], txns: [] };
      const cardEvent = cardEventOf(txn, state);
      card.events.push(cardEvent);
      card.txns.push(index);
      cardGroups.set(txn.cardToken, card);
      const entityEvent = entityEventOf(txn, cardEvent.fingerprint);
      for (const kind of LINKED_KINDS) {
        const id = linkedIdOf(txn, kind);
        if (id === undefined) continue;
        const groupKey = `${kind}\u0000${id}`;
        const group = entityGroups.get(groupKey) ?? { kind, id, events: [], txns: [] };
        group.events.push(entityEvent);
        group.txns.push(index);
        entityGroups.set(groupKey, group);
      }
    });

    // One updateBatch call per group of entities: on a cluster the entities of one slot, else up to
    // BATCH_ENTITIES at a time (each call is one script run: keep runs short so other clients are not held up).
    const entities: BatchEntity[] = [];
    const groupKeys: string[] = [];
    for (const [token, group] of cardGroups) {
      const keys = cardKeys(prefix, token);
      entities.push({ kind: 'card', keys, events: group.events });
      groupKeys.push(keys.aggregates);
    }
    for (const group of entityGroups.values()) {
      const keys = entityKeys(prefix, group.kind, group.id);
      entities.push({ kind: 'entity', layout: LAYOUT_OF[group.kind], keys, events: group.events });
      groupKeys.push(keys.aggregates);
    }
    const members: number[][] = [];
    if (isCluster(redis)) {
      const bySlot = new Map<number, number[]>();
      groupKeys.forEach((key, index) => {
        const slot = hashSlot(key);
        const list = bySlot.get(slot);
        if (list === undefined) bySlot.set(slot, [index]);
        else list.push(index);
      });
      members.push(...bySlot.values());
    } else {
      for (let from = 0; from < entities.length; from += BATCH_ENTITIES) {
        members.push(Array.from({ length: Math.min(BATCH_ENTITIES, entities.length - from) }, (_, j) => from + j));
      }
    }
    const calls: Call[] = members.map((list) => ({
      key: groupKeys[list[0]],
      queue: (p) => queueUpdateBatch(p, names, batchParams, list.map((index) => entities[index])),
    }));

    const replies = await guarded('applyBatch', () => roundTrip(calls));
    const entityReplies = new Array<unknown>(entities.length);
    members.forEach((list, call) => {
      const parts = parseUpdateBatch(replies[call]);
      list.forEach((index, j) => (entityReplies[index] = parts[j]));
    });

    // Features are computed entity by entity while each one's aggregates are rebuilt in place (no copy per
    // transaction); each vector is complete once every entity has been visited.
    const features = txns.map(() => new Float64Array(FEATURE_COUNT));
    const cardCodes = new Array<ReturnCode>(txns.length);
    let entity = 0;
    for (const group of cardGroups.values()) {
      const parsed = visitUpdateCard(entityReplies[entity++], (update, j) => {
        const index = group.txns[j];
        cardCodes[index] = update.code;
        reportUpdate(telemetry, 'card', update.code);
        setCardFeatures(features[index], update, txns[index], state);
      });
      if (parsed instanceof LayoutMismatch) throw mismatch(parsed.script);
    }
    for (const group of entityGroups.values()) {
      const parsed = visitUpdateEntity(LAYOUT_OF[group.kind], entityReplies[entity++], (update, j) => {
        const index = group.txns[j];
        reportUpdate(telemetry, group.kind, update.code);
        setLinkedFeatures(features[index], group.kind, update, txns[index], state);
      });
      if (parsed instanceof LayoutMismatch) throw mismatch(parsed.script);
    }

    telemetry.emit('state.round_trip', { seconds: Number(process.hrtime.bigint() - started) / 1e9, transactions: txns.length });
    return txns.map((_, index) => ({
      features: features[index],
      duplicate: cardCodes[index] === ReturnCode.Duplicate,
      tooOld: cardCodes[index] === ReturnCode.TooOld,
    }));
  }

  async function recordLabels(labels: readonly CardLabel[]): Promise<LabelOutcome[]> {
    if (labels.length === 0) return [];
    const cardReplies = await guarded('recordLabels', () =>
      roundTrip(
        labels.map((label) => {
          const keys = cardKeys(prefix, label.cardToken);
          const args = { transactionId: label.transactionId, label: label.label, horizonMs: STATE_HORIZON_MS };
          return { key: keys.references, queue: (p) => queueRecordCardLabel(p, names, keys, args) };
        }),
      ),
    );
    const resolved: CardLabelUpdate[] = cardReplies.map(parseRecordCardLabel);

    // Terminal and merchant keep their own label sets, so this step converges on retry whatever the card said.
    const acceptorCalls: Call[] = [];
    labels.forEach((label, index) => {
      const reference = resolved[index].reference;
      if (reference === undefined) return;
      for (const [kind, id] of [['terminal', reference.terminalId], ['merchant', reference.merchantId]] as const) {
        if (id === '') continue;
        const keys = entityKeys(prefix, kind, id);
        const args = { transactionId: label.transactionId, label: label.label, eventTimeMs: reference.eventTimeMs, ttlMs };
        acceptorCalls.push({ key: keys.aggregates, queue: (p) => queueRecordAcceptorLabel(p, names, keys, args) });
      }
    });
    if (acceptorCalls.length > 0) {
      const acceptorReplies = await guarded('recordLabels', () => roundTrip(acceptorCalls));
      for (const reply of acceptorReplies) {
        const parsed = parseRecordAcceptorLabel(reply);
        if (parsed instanceof LayoutMismatch) throw mismatch(parsed.script);
      }
    }
    return labels.map((label, index) => {
      const outcome = labelOutcomeOf(resolved[index].code);
      telemetry.emit('state.label', { outcome });
      return { transactionId: label.transactionId, outcome };
    });
  }

  return {
    applyBatch,
    recordLabels,
    async ping() {
      await guarded('ping', () => redis.ping());
    },
    // The client belongs to whoever connected it (the service shares it with the suppressor): nothing to release.
    async close() {},
  };
}
