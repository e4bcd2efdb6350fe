import type { Redis } from 'ioredis';
import { StateUnavailableError } from '../../../src/errors';
import { connectRedis } from '../../../src/state/redis-connection';
import { createRedisStore } from '../../../src/state/redis-store';
import { T0, label, txn } from '../../unit/state/builders';
import { removeServerDir, startRedisServer } from '../../support/redis-cluster';
import { defineStoreScenarios } from './scenarios';
import { sharedRedisUrl } from './support';

describe('Redis store on a single server', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = connectRedis({ redisUrl: sharedRedisUrl(), redisClusterNodes: [] }) as Redis;
  });
  afterAll(async () => {
    await redis.quit();
  });

  defineStoreScenarios({ redis: () => redis });
});

describe('Redis store without a reachable server', () => {
  test('every operation fails with a retriable StateUnavailableError', async () => {
    // A port that was just free and is closed again: connections are refused.
    const server = await startRedisServer();
    await server.stop();
    const errors: Error[] = [];
    const client = connectRedis(
      { redisUrl: server.url, redisClusterNodes: [] },
      { maxRetriesPerRequest: 1, connectTimeoutMs: 500, commandTimeoutMs: 500, onError: (e) => errors.push(e) },
    );
    const store = createRedisStore(client, { keyPrefix: 'unreachable:' });
    try {
      for (const operation of [() => store.applyBatch([txn('u1', T0)]), () => store.recordLabels([label('u1', 'fraud')]), () => store.ping()]) {
        const error = await operation().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StateUnavailableError);
        expect((error as StateUnavailableError).retriable).toBe(true);
      }
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      client.disconnect();
      removeServerDir(server);
    }
  });
});
