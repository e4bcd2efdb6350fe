import Redis from 'ioredis';
import { createRedisSuppressor, suppressionKey } from '../../../src/alerts/redis-suppressor';
import { alertMemoKey } from '../../../src/state/keys';
import { createMemorySuppressor, type SuppressionCandidate, type SuppressionOutcome } from '../../../src/alerts/suppression';
import { stackAddresses, uniqueName } from '../../support/env';

describe('Redis alert suppression', () => {
  const redis = new Redis(stackAddresses().redisUrl);
  const keyPrefix = `${uniqueName('suppress')}:`;
  afterAll(async () => {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('gives the same verdicts and memos as the in-memory twin on a random stream, every branch included', async () => {
    const period = 60_000;
    const redisSuppressor = createRedisSuppressor(redis, { keyPrefix, periodMs: period });
    const memory = createMemorySuppressor(period);
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const candidates: SuppressionCandidate[] = [];
    for (let i = 0; i < 400; i++) {
      const redelivery = i > 0 && next() < 0.15;
      candidates.push(
        // A redelivery is rescored: same alert, other content.
        redelivery
          ? { ...candidates[Math.floor(next() * candidates.length)], publication: `rescored at ${i}` }
          : { cardToken: `card-${Math.floor(next() * 8)}`, alertId: `alert-${i}`, eventTimeMs: Math.floor(next() * 600_000), level: next() < 0.3 ? 2 : 1, publication: `alert-${i} first` },
      );
    }
    const fromRedis: SuppressionOutcome[] = [];
    const fromMemory: SuppressionOutcome[] = [];
    for (let i = 0; i < candidates.length; i += 50) {
      fromRedis.push(...(await redisSuppressor.check(candidates.slice(i, i + 50))));
      fromMemory.push(...(await memory.check(candidates.slice(i, i + 50))));
    }
    expect(fromRedis).toEqual(fromMemory);
    expect(new Set(fromRedis.map((o) => o.verdict))).toEqual(new Set(['new', 'escalated', 'redelivered', 'suppressed']));
    // Every memo returned is what the alert's first attempt that went through published (a suppressed attempt
    // published nothing), never what a later attempt would have.
    const published = new Map<string, string>();
    let memos = 0;
    fromRedis.forEach((outcome, i) => {
      const { alertId, publication } = candidates[i];
      if (outcome.firstPublication !== undefined) {
        memos++;
        expect(outcome.firstPublication).toBe(published.get(alertId));
      } else if (outcome.verdict !== 'suppressed' && !published.has(alertId)) published.set(alertId, publication);
    });
    expect(memos).toBeGreaterThan(0);
    expect(await redis.pttl(suppressionKey(keyPrefix, 'card-0'))).toBeGreaterThan(0);
    const memoed = candidates.find((c) => c.publication.endsWith('first') && fromRedis[candidates.indexOf(c)].verdict !== 'suppressed')!;
    expect(await redis.pttl(alertMemoKey(keyPrefix, memoed.cardToken, memoed.alertId))).toBeGreaterThan(3_000_000);
  });
});
