/** The state suite again, against a real three-master Redis Cluster started for this file. */
import type { Cluster } from 'ioredis';
import { hashSlot, cardKeys } from '../../../src/state/keys';
import { connectRedis } from '../../../src/state/redis-connection';
import { startRedisCluster, type RedisCluster } from '../../support/redis-cluster';
import { CARD_A, CARD_B } from '../../unit/state/builders';
import { checkStoresAgree } from './property';
import { defineStoreScenarios } from './scenarios';

describe('Redis store on a three-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let redis: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = connectRedis({ redisUrl: undefined, redisClusterNodes: cluster.nodes }) as Cluster;
    await redis.ping();
  }, 90_000);

  afterAll(async () => {
    await redis?.quit();
    await cluster?.stop();
  });

  test('the cluster has three masters serving every slot, and entities spread over them', async () => {
    expect(redis.nodes('master')).toHaveLength(3);
    expect(redis.slots.filter((owners) => owners?.length > 0)).toHaveLength(16384);
    const owners = new Set([CARD_A, CARD_B, ...'abcdefgh'].map((card) => redis.slots[hashSlot(cardKeys('cs:', card).aggregates)][0]));
    expect(owners.size).toBeGreaterThan(1);
  });

  defineStoreScenarios({ redis: () => redis });

  test('the Redis and in-memory stores agree on random streams', async () => {
    await checkStoresAgree(redis, 20);
  });
});
