/** Helpers of the state integration tests: the shared Redis, unique key prefixes, cleanup. */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { CardTransaction } from '../../../src/contract/transaction';
import { allKeysPattern } from '../../../src/state/keys';
import { masters } from '../../support/socket-writes';
import { CARD_A, T0, token } from '../../unit/state/builders';

export function sharedRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run through the integration project (its global setup runs scripts/stack-up.sh)');
  return url;
}

export function uniquePrefix(test: string): string {
  return `test:${test}:${randomUUID().slice(0, 8)}:`;
}

export async function keysUnder(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', allKeysPattern(prefix), 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

export async function deleteKeysUnder(redis: Redis | Cluster, prefix: string): Promise<void> {
  for (const key of await keysUnder(redis, prefix)) await redis.unlink(key);
}

/** A deterministic mixed stream: several cards sharing merchants, terminals, accounts, devices and IPs. */
export function mixedStream(size: number, seed = 7, idPrefix = 'mix'): CardTransaction[] {
  let state = seed >>> 0;
  const next = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const txns: CardTransaction[] = [];
  let time = T0;
  for (let i = 0; i < size; i++) {
    time += next(4) === 0 ? next(3 * 3600_000) : next(90_000);
    const ecom = next(3) === 0;
    const txn: CardTransaction = {
      transactionId: `${idPrefix}-${i}`,
      eventTimeMs: time,
      timestamp: new Date(time).toISOString(),
      cardToken: i % 5 === 0 ? CARD_A : token(`card-${next(12)}`),
      amount: next(5) === 0 ? 1 + next(900) : 1000 + next(200_000) / 4,
      currency: 'KZT',
      approved: next(10) !== 0,
      merchantId: `M${next(6)}`,
      mcc: ['5411', '5812', '5999', '6011'][next(4)],
      country: ['KZ', 'KZ', 'KZ', 'AE', 'TR'][next(5)],
    };
    if (next(4) !== 0) txn.accountId = `A${next(4)}`;
    if (ecom) {
      txn.channel = 'ecom';
      txn.deviceId = `D${next(5)}`;
      txn.ip = `10.0.0.${next(5)}`;
    } else {
      txn.channel = 'pos';
      txn.terminalId = `T${next(8)}`;
      txn.latitude = 43 + next(1000) / 100;
      txn.longitude = 70 + next(1000) / 100;
    }
    txns.push(txn);
  }
  return txns;
}
