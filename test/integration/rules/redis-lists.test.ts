/**
 * Lists in Redis sets, against the real server: a rule set compiled on the mirror sees what is written to Redis
 * after each refresh, and keeps the last good membership when Redis cannot be read.
 */
import Redis from 'ioredis';
import { compileRuleSet } from '../../../src/rules';
import { RedisListMirror, redisListKey } from '../../../src/rules/redis-lists';
import { Telemetry } from '../../../src/telemetry/events';
import { createLogger } from '../../../src/telemetry/logger';
import { uniqueName } from '../../support/env';
import { FEATURE_INDEX, features, txn } from '../../unit/rules/fixtures';

const ruleFile = `version: "redis-lists-1"
lists:
  compromised_terminals: { kind: terminal, external: true }
rules:
  - id: compromised_terminal
    description: listed terminal
    when: { txn.terminalId: { in_list: compromised_terminals } }
    score: 0.6
    action: review
    reason: { code: COMPROMISED_TERMINAL, message: "terminal {txn.terminalId} is listed as compromised" }
`;

describe('Redis-set lists', () => {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) throw new Error('REDIS_URL must be set (the integration global setup exports it)');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const keyPrefix = `${uniqueName('rules')}:`;
  const key = redisListKey(keyPrefix, 'compromised_terminals');
  const telemetry = new Telemetry();
  const logger = createLogger({ level: 'silent' });

  beforeAll(() => redis.connect());
  const keysToDelete = [key];
  afterAll(async () => {
    await redis.del(...keysToDelete);
    redis.disconnect();
  });

  const listed = (ruleSet: ReturnType<typeof compileRuleSet>, terminalId: string) => ruleSet.evaluate(txn({ terminalId }), features()).length === 1;

  it('serves what Redis holds after each refresh, reading large sets in SSCAN pages', async () => {
    const mirror = new RedisListMirror({ redis, keyPrefix, logger, telemetry, scanCount: 100 });
    const ruleSet = compileRuleSet(ruleFile, { featureIndex: FEATURE_INDEX, lists: mirror });
    expect(mirror.names()).toEqual(['compromised_terminals']);
    expect(listed(ruleSet, 't-bad-1')).toBe(false);

    await redis.sadd(key, ...Array.from({ length: 2500 }, (_, i) => `t-bad-${i}`));
    expect(listed(ruleSet, 't-bad-1')).toBe(false); // not until the mirror is refreshed
    await mirror.refresh();
    expect(listed(ruleSet, 't-bad-1')).toBe(true);
    expect(listed(ruleSet, 't-bad-2499')).toBe(true);
    expect(listed(ruleSet, 't-good-1')).toBe(false);
    expect(ruleSet.describe().lists).toEqual([{ name: 'compromised_terminals', kind: 'terminal', source: 'external', size: 2500 }]);

    await redis.srem(key, 't-bad-1');
    await mirror.refresh();
    expect(listed(ruleSet, 't-bad-1')).toBe(false);
    expect(listed(ruleSet, 't-bad-2')).toBe(true);
  });

  it('treats a list with no Redis set as empty', async () => {
    const mirror = new RedisListMirror({ redis, keyPrefix: `${uniqueName('rules-empty')}:`, logger, telemetry });
    const ruleSet = compileRuleSet(ruleFile, { featureIndex: FEATURE_INDEX, lists: mirror });
    await mirror.refresh();
    expect(listed(ruleSet, 't-bad-1')).toBe(false);
  });

  it('keeps the last good members when Redis cannot be read, and says so', async () => {
    const otherPrefix = `${uniqueName('rules-fail')}:`;
    const otherKey = redisListKey(otherPrefix, 'compromised_terminals');
    keysToDelete.push(otherKey);
    await redis.sadd(otherKey, 't-kept');
    const mirror = new RedisListMirror({ redis, keyPrefix: otherPrefix, logger, telemetry });
    const ruleSet = compileRuleSet(ruleFile, { featureIndex: FEATURE_INDEX, lists: mirror });
    await mirror.refresh();
    expect(listed(ruleSet, 't-kept')).toBe(true);

    const errors: string[] = [];
    const off = telemetry.on('state.error', (e) => errors.push(e.operation));
    // A real failure from the real server: the key now holds a string, and SSCAN on it is a WRONGTYPE error.
    await redis.del(otherKey);
    await redis.set(otherKey, 'not a set');
    await expect(mirror.refresh()).rejects.toThrow(/could not read list\(s\) compromised_terminals/);
    off();
    expect(errors).toEqual(['rules.list_refresh']);
    expect(listed(ruleSet, 't-kept')).toBe(true);
  });
});
