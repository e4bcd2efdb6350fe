/**
 * Redis dies in the middle of a batch (SIGKILL: no goodbye) and comes back from its append-only file. The batch in
 * flight fails with a retriable error, no entity is left half-updated, and replaying the batch counts every
 * transaction exactly once: the features afterwards equal those of a store that never saw a fault.
 */
import type { Redis } from 'ioredis';
import type { CardTransaction } from '../../../src/contract/transaction';
import { StateUnavailableError } from '../../../src/errors';
import { FEATURE_NAMES } from '../../../src/state/features';
import { transactionFingerprint } from '../../../src/state/entity-events';
import { cardKeys } from '../../../src/state/keys';
import { createMemoryStore } from '../../../src/state/memory-store';
import { connectRedis } from '../../../src/state/redis-connection';
import { createRedisStore } from '../../../src/state/redis-store';
import { HOUR, token, txn } from '../../unit/state/builders';
import { removeServerDir, startRedisServer, type RedisServer } from '../../support/redis-cluster';
import { mixedStream } from './support';

const PREFIX = 'restart:';

function bigBatch(size: number, startMs: number): CardTransaction[] {
  return Array.from({ length: size }, (_, i) =>
    txn(`big-${i}`, startMs + i * 100, {
      cardToken: token(`restart-card-${i}`),
      merchantId: `M${i % 10}`,
      terminalId: `T${i % 20}`,
      amount: 1000 + (i % 37) * 250,
    }),
  );
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('Redis restart mid-stream', () => {
  let server: RedisServer;
  let client: Redis;
  let observer: Redis;

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const quiet = { maxRetriesPerRequest: 1, connectTimeoutMs: 1000, commandTimeoutMs: 5000, onError: () => undefined };
    client = connectRedis({ redisUrl: server.url, redisClusterNodes: [] }, quiet) as Redis;
    observer = connectRedis({ redisUrl: server.url, redisClusterNodes: [] }, quiet) as Redis;
  });

  afterAll(async () => {
    client?.disconnect();
    observer?.disconnect();
    await server?.stop();
    if (server) removeServerDir(server);
  });

  test('the batch in flight fails retriably, nothing is half-applied, and a replay counts each transaction once', async () => {
    const store = createRedisStore(client, { keyPrefix: PREFIX });
    const reference = createMemoryStore();
    const before = mixedStream(300, 5, 'before');
    const start = before[before.length - 1].eventTimeMs + HOUR;
    const big = bigBatch(3000, start);
    const probe = big.filter((_, i) => i % 60 === 0).map((t, i) => ({ ...t, transactionId: `probe-${i}`, eventTimeMs: start + 400_000 + i }));

    for (const batch of [before.slice(0, 150), before.slice(150)]) {
      await store.applyBatch(batch);
      await reference.applyBatch(batch);
    }

    const inFlight = store.applyBatch(big).then(
      () => undefined,
      (error: unknown) => error,
    );
    const firstCard = cardKeys(PREFIX, big[0].cardToken).aggregates;
    await eventually(async () => (await observer.exists(firstCard)) === 1, 'the batch to reach Redis', 10_000);
    await server.stop('SIGKILL');
    const failure = await inFlight;
    expect(failure).toBeInstanceOf(StateUnavailableError);
    expect((failure as StateUnavailableError).retriable).toBe(true);

    await server.restart();
    await eventually(async () => (await store.ping(), true), 'the store to be ready again');

    // Atomic per entity: a card has its aggregates exactly when it has the transaction's reference.
    const check = observer.pipeline();
    for (const t of big) {
      const keys = cardKeys(PREFIX, t.cardToken);
      check.exists(keys.aggregates);
      check.hexists(keys.references, transactionFingerprint(t.transactionId));
    }
    const answers = ((await check.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value as number;
    });
    let appliedBeforeCrash = 0;
    for (let i = 0; i < answers.length; i += 2) {
      expect(answers[i]).toBe(answers[i + 1]);
      appliedBeforeCrash += answers[i];
    }
    expect(appliedBeforeCrash).toBeGreaterThan(0);

    const replayed = await store.applyBatch(big);
    expect(replayed.filter((r) => r.duplicate)).toHaveLength(appliedBeforeCrash);
    await reference.applyBatch(big);

    const [fromRedis, fromReference] = [await store.applyBatch(probe), await reference.applyBatch(probe)];
    fromRedis.forEach((applied, i) => {
      FEATURE_NAMES.forEach((name, j) => {
        if (!Object.is(applied.features[j], fromReference[i].features[j])) {
          throw new Error(`${probe[i].transactionId} ${name}: ${applied.features[j]} after the crash, ${fromReference[i].features[j]} without`);
        }
      });
    });
    // In numbers: every probe is at merchant M0, which saw 300 of the big batch within the hour, plus the probes.
    const merchantCounts = fromRedis.map((applied) => applied.features[FEATURE_NAMES.indexOf('merchant.count_1h')]);
    expect(merchantCounts).toEqual(probe.map((_, i) => 300 + i + 1));
  });
});
