/**
 * The Redis store's behaviour, as one suite run against a single server (redis-store.test.ts) and against a
 * three-master Redis Cluster (cluster.test.ts).
 */
import type { Cluster, Redis } from 'ioredis';
import { cardTokenizer } from '../../../src/contract/card';
import { toCardTransaction } from '../../../src/contract/transaction';
import { NonRetriableError } from '../../../src/errors';
import { featureValue, FEATURE_NAMES } from '../../../src/state/features';
import { cardKeys, entityKeys } from '../../../src/state/keys';
import { createMemoryStore } from '../../../src/state/memory-store';
import { stateTtlMs } from '../../../src/state/options';
import { createRedisStore } from '../../../src/state/redis-store';
import type { FeatureStore } from '../../../src/state/store';
import { Telemetry } from '../../../src/telemetry/events';
import { CARD_A, CARD_B, HOUR, MINUTE, T0, label, txn } from '../../unit/state/builders';
import { countSocketWrites } from '../../support/socket-writes';
import { deleteKeysUnder, keysUnder, mixedStream, uniquePrefix } from './support';

export interface ScenarioContext {
  /** A client the scenarios may share (they never close it). */
  redis(): Redis | Cluster;
}

/** Every byte a key holds, whatever its type (DUMP would compress long strings and hide them). */
async function valueBytes(redis: Redis | Cluster, key: string): Promise<Buffer> {
  switch (await redis.type(key)) {
    case 'string':
      return (await redis.getBuffer(key)) ?? Buffer.alloc(0);
    case 'hash':
      return Buffer.concat(await redis.hgetallBuffer(key).then((h) => Object.entries(h).flatMap(([k, v]) => [Buffer.from(k), v])));
    case 'zset':
      return Buffer.concat(await redis.zrangeBuffer(key, '0', '-1', 'WITHSCORES'));
    default:
      throw new Error(`unexpected key type at ${key}`);
  }
}

function expectSameFeatures(actual: Float64Array, expected: Float64Array, where: string): void {
  FEATURE_NAMES.forEach((name, i) => {
    if (!Object.is(actual[i], expected[i])) throw new Error(`${where}: ${name} is ${actual[i]} in Redis but ${expected[i]} in memory`);
  });
}

export function defineStoreScenarios(context: ScenarioContext): void {
  let prefix: string;
  let store: FeatureStore;

  beforeEach(() => {
    prefix = uniquePrefix(expect.getState().currentTestName?.replace(/\W+/g, '-').slice(0, 40) ?? 'state');
    store = createRedisStore(context.redis(), { keyPrefix: prefix });
  });

  afterEach(async () => {
    await deleteKeysUnder(context.redis(), prefix);
  });

  test('a batch is one round trip (every call sent before the first reply is read) and its features equal the memory store', async () => {
    const stream = mixedStream(400);
    const memory = createMemoryStore();
    const writes = await countSocketWrites(context.redis());
    let first;
    try {
      first = await store.applyBatch(stream.slice(0, 250));
      expect(writes.count).toBeGreaterThanOrEqual(1);
      expect(writes.beforeFirstReply).toBe(writes.count);
    } finally {
      writes.restore();
    }
    const second = await store.applyBatch(stream.slice(250));
    const expected = await memory.applyBatch(stream);
    [...first, ...second].forEach((applied, i) => {
      expectSameFeatures(applied.features, expected[i].features, `transaction ${i}`);
      expect(applied.duplicate).toBe(false);
    });
  });

  test('a redelivered batch is flagged duplicate and counts nothing twice', async () => {
    const batch = mixedStream(60, 11);
    await store.applyBatch(batch);
    const again = await store.applyBatch([...batch.slice(30), batch[0], batch[0]]);
    expect(again.every((applied) => applied.duplicate)).toBe(true);
    const memory = createMemoryStore();
    await memory.applyBatch(batch);
    const probe = txn('probe', batch[batch.length - 1].eventTimeMs + MINUTE, { ...batch[batch.length - 1], transactionId: 'probe' });
    const [viaRedis] = await store.applyBatch([probe]);
    const [viaMemory] = await memory.applyBatch([probe]);
    expectSameFeatures(viaRedis.features, viaMemory.features, 'probe after redelivery');
  });

  test('a duplicate inside one batch is counted once, and per-card order holds within a batch', async () => {
    const burst = Array.from({ length: 20 }, (_, i) => txn(`b${i}`, T0 + i * 1000, { merchantId: 'M1' }));
    const results = await store.applyBatch([...burst.slice(0, 10), burst[3], ...burst.slice(10)]);
    expect(results.map((r) => r.duplicate)).toEqual([...Array(10).fill(false), true, ...Array(10).fill(false)]);
    const counts = results.filter((r) => !r.duplicate).map((r) => featureValue(r.features, 'card.count_10m'));
    expect(counts).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(featureValue(results[20].features, 'merchant.count_1h')).toBe(20);
    expect(featureValue(results[20].features, 'card.seconds_since_last')).toBe(1);
  });

  test('labels: outcomes are idempotent and move the terminal and merchant fraud counts', async () => {
    const at = { terminalId: 'T1', merchantId: 'M1' };
    await store.applyBatch([txn('t1', T0, at), txn('t2', T0 + HOUR, { ...at, cardToken: CARD_B }), txn('t3', T0 + 2 * HOUR, at)]);
    const outcomes = await store.recordLabels([
      label('t1', 'fraud'),
      label('t1', 'fraud'),
      label('t2', 'genuine', CARD_B),
      label('t2', 'fraud', CARD_B),
      label('unknown', 'fraud'),
    ]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['applied', 'duplicate', 'applied', 'changed', 'unknown_transaction']);
    const [probe] = await store.applyBatch([txn('t4', T0 + 3 * HOUR, at)]);
    expect(featureValue(probe.features, 'terminal.fraud_count_30d')).toBe(2);
    expect(featureValue(probe.features, 'merchant.fraud_share_30d')).toBe(0.5);
    expect((await store.recordLabels([label('t1', 'fraud')]))[0].outcome).toBe('duplicate');
    const [again] = await store.applyBatch([txn('t5', T0 + 3 * HOUR + MINUTE, at)]);
    expect(featureValue(again.features, 'terminal.fraud_count_30d')).toBe(2);
  });

  test('every key has an expiry no longer than the longest window plus margin', async () => {
    await store.applyBatch(mixedStream(40, 3));
    await store.recordLabels([label('mix-0', 'fraud')]);
    const keys = await keysUnder(context.redis(), prefix);
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) {
      const ttl = await context.redis().pttl(key);
      expect([key, ttl > 0 && ttl <= stateTtlMs()]).toEqual([key, true]);
    }
  });

  test('a PAN never reaches Redis: keys and values hold the card token only', async () => {
    const pan = '4111111111111111';
    const tokenize = cardTokenizer(Buffer.alloc(32, 7));
    const message = { transactionId: 'pan-1', timestamp: '2026-03-02T10:00:00+05:00', pan, amount: 1200, merchantId: 'M1', terminalId: 'T1' };
    await store.applyBatch([toCardTransaction(message, tokenize, 'KZT')]);
    const keys = await keysUnder(context.redis(), prefix);
    expect(keys.some((key) => key.includes(tokenize(pan)))).toBe(true);
    for (const key of keys) {
      expect(key).not.toContain(pan);
      const value = await valueBytes(context.redis(), key);
      expect(value.length).toBeGreaterThan(0);
      expect(value.includes(pan.slice(-8))).toBe(false);
    }
  });

  test('late transactions count in their own buckets; too old ones count as nothing and are reported', async () => {
    const telemetry = new Telemetry();
    const reported: string[] = [];
    telemetry.on('state.too_old', ({ entity }) => reported.push(entity));
    const lateStore = createRedisStore(context.redis(), { keyPrefix: prefix, allowedLatenessMs: HOUR, telemetry });
    await lateStore.applyBatch([txn('now', T0 + 5 * HOUR, { merchantId: 'M1' })]);
    const [late, old] = await lateStore.applyBatch([
      txn('late', T0 + 4 * HOUR + 30 * MINUTE, { merchantId: 'M1' }),
      txn('old', T0 + 3 * HOUR, { merchantId: 'M1' }),
    ]);
    expect([late.tooOld, old.tooOld]).toEqual([false, true]);
    // Replies are read as they arrive (on a cluster, from different nodes): the order of reports is not fixed.
    expect(reported.sort()).toEqual(['card', 'merchant']);
    const [probe] = await lateStore.applyBatch([txn('probe', T0 + 5 * HOUR + MINUTE, { merchantId: 'M1' })]);
    expect(featureValue(probe.features, 'card.count_24h')).toBe(3);
    expect(featureValue(probe.features, 'merchant.count_24h')).toBe(3);
  });

  test('aggregates of another layout are refused, non-retriable, and nothing else in the script is written', async () => {
    const keys = cardKeys(prefix, CARD_A);
    await context.redis().set(keys.aggregates, 'written by another version');
    const error = await store.applyBatch([txn('x1', T0)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetriableError);
    expect((error as NonRetriableError).retriable).toBe(false);
    expect((error as Error).message).not.toContain(CARD_A);
    expect(await context.redis().exists(keys.references)).toBe(0);
    expect(await context.redis().get(keys.aggregates)).toBe('written by another version');

    const merchant = entityKeys(prefix, 'merchant', 'M9');
    await store.applyBatch([txn('m1', T0, { cardToken: CARD_B, merchantId: 'M9' })]);
    await context.redis().set(merchant.aggregates, 'x');
    await expect(store.recordLabels([label('m1', 'fraud', CARD_B)])).rejects.toBeInstanceOf(NonRetriableError);
  });

  test('a key of the wrong type is a non-retriable error', async () => {
    await context.redis().lpush(cardKeys(prefix, CARD_A).references, 'not a hash');
    await expect(store.applyBatch([txn('w1', T0)])).rejects.toBeInstanceOf(NonRetriableError);
  });
}
