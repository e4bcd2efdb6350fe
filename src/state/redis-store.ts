/**
 * The Redis feature store. Each entity of a batch (card, account, terminal, merchant, device, IP) is updated with
 * all of its transactions in batch order; many entities share one script call (updateBatch: on a cluster, those of
 * one slot), and every call is written before any reply is read: one round trip per batch (on a cluster, to each
 * node its own calls). Scripts return raw buckets; features.ts does the rest.
 */
import type { Cluster, Redis } from 'ioredis';
import type { CardLabel, CardTransaction } from '../contract/transaction';
import { NonRetriableError, StateUnavailableError } from '../errors';
import { Telemetry } from '../telemetry/events';
import { ReturnCode } from './codes';
import {
  LayoutMismatch,
  parseRecordAcceptorLabel,
  parseRecordCardLabel,
  readUpdateBatch,
  visitUpdateCard,
  visitUpdateEntity,
  sendRecordAcceptorLabel,
  sendRecordCardLabel,
  sendUpdateBatch,
  type BatchEntity,
  type UpdateBatchReply,
} from './commands';
import { LAYOUT_OF, LINKED_KINDS, cardEventOf, entityEventOf, linkedIdOf, type CardEvent, type EntityEvent, type LinkedKind } from './entity-events';
import { featureRows, setCardFeatures, setLinkedFeatures } from './features';
import { cardKeys, entityKeys, hashSlot } from './keys';
import { STATE_HORIZON_MS, resolveOptions, stateTtlMs, type StateOptions } from './options';
import { defineStateCommands } from './scripts';
import { decodeReference, historyEntry } from './history';
import type { AppliedTransaction, CardHistoryEntry, FeatureStore, LabelOutcome } from './store';
import { toStateError } from './redis-errors';
import { labelOutcomeOf, reportUpdate } from './store-telemetry';
import type { CardLabelUpdate } from './twin';

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
  /** Sends the call (all of its keys share one slot) and returns its reply's promise. */
  send(client: Redis | Cluster): Promise<unknown>;
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

  /**
   * Sends every call before awaiting any reply (one round trip of latency; on a cluster ioredis routes each call to
   * its slot's node) and hands each reply to `onReply` as it arrives, so Node reads the first calls' replies while
   * Redis still runs the later ones: a batch costs about the larger of the two instead of their sum. Replies are also
   * returned in call order.
   */
  async function roundTrip(calls: readonly Call[], onReply?: (index: number, reply: unknown) => void): Promise<unknown[]> {
    if (isCluster(redis) && redis.status !== 'ready') await redis.ping(); // waits for the slot map
    const replies = new Array<unknown>(calls.length);
    const errors: unknown[] = [];
    await Promise.all(
      calls.map((call, index) =>
        call
          .send(redis)
          .then((reply) => {
            replies[index] = reply;
            onReply?.(index, reply);
          })
          .catch((error: unknown) => void errors.push(error)),
      ),
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
      const entityEvent = entityEventOf(txn, cardEvent);
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
    // `owners[i]`: entity i's kind and the indexes of its transactions, in order.
    const entities: BatchEntity[] = [];
    const owners: Array<{ kind: 'card' | LinkedKind; txns: number[] }> = [];
    const groupKeys: string[] = [];
    for (const [token, group] of cardGroups) {
      const keys = cardKeys(prefix, token);
      entities.push({ kind: 'card', keys, events: group.events });
      owners.push({ kind: 'card', txns: group.txns });
      groupKeys.push(keys.aggregates);
    }
    for (const group of entityGroups.values()) {
      const keys = entityKeys(prefix, group.kind, group.id);
      entities.push({ kind: 'entity', layout: LAYOUT_OF[group.kind], keys, events: group.events });
      owners.push({ kind: group.kind, txns: group.txns });
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
      send: (client) => sendUpdateBatch(client, names, batchParams, list.map((index) => entities[index])),
    }));

    // Features are computed entity by entity, as each call's reply arrives, while each entity's aggregates are
    // rebuilt in place (no copy per transaction); each vector is complete once every entity has been visited (each
    // entity sets its own features).
    const features = featureRows(txns.length);
    const cardCodes = new Array<ReturnCode>(txns.length);
    const visitEntity = (entity: number, reply: UpdateBatchReply): void => {
      const { kind, txns: indexes } = owners[entity];
      const parsed =
        kind === 'card'
          ? visitUpdateCard(reply, (update, j) => {
              const index = indexes[j];
              cardCodes[index] = update.code;
              reportUpdate(telemetry, 'card', update.code);
              setCardFeatures(features[index], update, txns[index], state);
            })
          : visitUpdateEntity(LAYOUT_OF[kind], reply, (update, j) => {
              const index = indexes[j];
              reportUpdate(telemetry, kind, update.code);
              setLinkedFeatures(features[index], kind, update, txns[index], state);
            });
      if (parsed instanceof LayoutMismatch) throw mismatch(parsed.script);
    };
    await guarded('applyBatch', () =>
      roundTrip(calls, (call, reply) => {
        const read = readUpdateBatch(reply);
        for (const entity of members[call]) visitEntity(entity, read);
      }),
    );

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
          return { send: (client) => sendRecordCardLabel(client, names, keys, args) };
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
        acceptorCalls.push({ send: (client) => sendRecordAcceptorLabel(client, names, keys, args) });
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

  async function cardHistory(cardToken: string): Promise<CardHistoryEntry[]> {
    // callBuffer: the hash's field names are 8 raw bytes, which the string-keyed HGETALL reply would mangle.
    const flat = (await guarded('cardHistory', () => redis.callBuffer('HGETALL', cardKeys(prefix, cardToken).references))) as Buffer[];
    const entries: CardHistoryEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push(historyEntry(flat[i], decodeReference(flat[i + 1])));
    return entries;
  }

  return {
    applyBatch,
    recordLabels,
    cardHistory,
    async ping() {
      await guarded('ping', () => redis.ping());
    },
    // The client belongs to whoever connected it (the service shares it with the suppressor): nothing to release.
    async close() {},
  };
}
