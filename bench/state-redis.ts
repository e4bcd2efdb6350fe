/** What the state benchmarks (bench/state.ts, bench/script-cost.ts, bench/write-back.ts) read from and clean up on the Redis server. */
import type { Redis } from 'ioredis';
import { allKeysPattern } from '../src/state/keys';

/** CPU seconds the server has used (INFO cpu, server-wide: includes other clients). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
}

/** Commands the server has run (INFO commandstats, server-wide), INFO itself left out so reading this does not count. */
export async function commandCalls(redis: Redis): Promise<number> {
  let calls = 0;
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls += Number(match[2]);
  }
  return calls;
}

/** Deletes every state key under the prefix; returns how many there were. */
export async function deleteStateKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', allKeysPattern(prefix), 'COUNT', 5000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}
