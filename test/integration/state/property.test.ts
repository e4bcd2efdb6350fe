import type { Redis } from 'ioredis';
import { connectRedis } from '../../../src/state/redis-connection';
import { checkStoresAgree } from './property';
import { sharedRedisUrl } from './support';

describe('Redis store and in-memory store', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = connectRedis({ redisUrl: sharedRedisUrl(), redisClusterNodes: [] }) as Redis;
  });
  afterAll(async () => {
    await redis.quit();
  });

  test('give identical features, flags and label outcomes on the same random streams', async () => {
    await checkStoresAgree(redis, 60);
  });
});
