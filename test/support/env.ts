/** Addresses of the real stack, exported by the integration project's global setup. */
import { randomBytes } from 'node:crypto';

export function stackAddresses(): { kafkaBrokers: string[]; redisUrl: string } {
  const kafka = process.env.KAFKA_BROKERS;
  const redisUrl = process.env.REDIS_URL;
  if (!kafka || !redisUrl) throw new Error('KAFKA_BROKERS and REDIS_URL must be set (the integration global setup exports them)');
  return { kafkaBrokers: kafka.split(','), redisUrl };
}

/** A name no other test (or earlier run) uses: topics, group ids and key prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Removes a test's own keys (its REDIS_KEY_PREFIX) from the shared Redis, in DEL batches of `batch` keys. */
export async function deleteKeysWithPrefix(redis: { keys(pattern: string): Promise<string[]>; del(...keys: string[]): Promise<number> }, prefix: string, batch = 500): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += batch) await redis.del(...keys.slice(i, i + batch));
}
