/**
 * Feature semantics, through the in-memory store (the same arithmetic the Redis store uses; the integration
 * property test holds the two together).
 */
import fc from 'fast-check';
import { FEATURE_INDEX, FEATURE_NAMES, NO_PREVIOUS_SECONDS, featureValue, haversineKm, type FeatureName } from '../../../src/state/features';
import { createMemoryStore } from '../../../src/state/memory-store';
import { Telemetry } from '../../../src/telemetry/events';
import { CARD_B, DAY, HOUR, MINUTE, T0, label, token, txn } from './builders';

const AGREED: readonly string[] = [
  ...['card', 'account'].flatMap((e) => [
    ...['10m', '1h', '24h', '7d', '30d'].map((w) => `${e}.count_${w}`),
    ...['10m', '1h', '24h', '7d', '30d'].map((w) => `${e}.amount_${w}`),
    `${e}.avg_amount_1d`, `${e}.avg_amount_7d`, `${e}.avg_amount_30d`, `${e}.amount_zscore`, `${e}.amount_ratio_30d`, `${e}.seconds_since_last`,
  ]),
  'card.distinct_merchants_24h', 'card.distinct_terminals_24h', 'card.distinct_countries_24h', 'card.declines_10m', 'card.declines_1h',
  'card.small_amounts_10m', 'card.small_amounts_1h', 'card.distance_km_from_last_present', 'card.speed_kmh_from_last_present',
  'card.first_country', 'card.first_mcc', 'card.first_merchant',
  ...['terminal', 'merchant'].flatMap((e) =>
    ['count_1h', 'count_24h', 'count_7d', 'distinct_cards_1h', 'distinct_cards_24h', 'distinct_cards_7d', 'fraud_count_30d', 'fraud_share_30d'].map((f) => `${e}.${f}`),
  ),
  ...['device', 'ip'].flatMap((e) => [`${e}.count_24h`, `${e}.distinct_cards_24h`]),
];

async function featuresOf(stream: Parameters<ReturnType<typeof createMemoryStore>['applyBatch']>[0], options = {}) {
  const store = createMemoryStore(options);
  return store.applyBatch(stream);
}

const f = (vector: Float64Array, name: FeatureName) => featureValue(vector, name);

describe('feature catalog', () => {
  test('holds every agreed name, each once, with a description, indexed in order', () => {
    for (const name of AGREED) expect(FEATURE_NAMES).toContain(name);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_NAMES.length);
    FEATURE_NAMES.forEach((name, index) => expect(FEATURE_INDEX[name]).toBe(index));
    // @ts-expect-error a name outside the catalog does not compile
    expect(FEATURE_INDEX['card.count_2h']).toBeUndefined();
  });
});

describe('memory store features', () => {
  test('counts and sums include the current transaction, per window', async () => {
    const results = await featuresOf([
      txn('t1', T0, { amount: 100 }),
      txn('t2', T0 + 30 * MINUTE, { amount: 200 }),
      txn('t3', T0 + 3 * DAY, { amount: 400 }),
    ]);
    const last = results[2].features;
    expect(f(last, 'card.count_10m')).toBe(1);
    expect(f(last, 'card.count_24h')).toBe(1);
    expect(f(last, 'card.count_7d')).toBe(3);
    expect(f(last, 'card.amount_7d')).toBe(700);
    expect(f(last, 'card.avg_amount_30d')).toBeCloseTo(700 / 3, 12);
    expect(f(results[1].features, 'card.count_1h')).toBe(2);
    expect(f(results[1].features, 'card.count_10m')).toBe(1);
  });

  test('a window covers at least its length and at most a tenth more (bucket error bound)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 * MINUTE }), fc.integer({ min: 0, max: 59_999 }), async (gap, offset) => {
        const start = T0 + offset;
        const [, second] = await featuresOf([txn('a', start), txn('b', start + gap)]);
        const count = f(second.features, 'card.count_10m');
        if (gap <= 10 * MINUTE) expect(count).toBe(2);
        if (gap >= 12 * MINUTE) expect(count).toBe(1);
      }),
      { numRuns: 200 },
    );
  });

  test('a redelivered transaction is flagged duplicate and changes nothing', async () => {
    const store = createMemoryStore();
    const [first] = await store.applyBatch([txn('t1', T0, { merchantId: 'M1', accountId: 'A1' })]);
    const [again] = await store.applyBatch([txn('t1', T0, { merchantId: 'M1', accountId: 'A1' })]);
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    // A redelivery reads the same buckets; only first_* cannot tell its own earlier sighting from another one.
    const firstSeen = new Set<string>(['card.first_country', 'card.first_mcc', 'card.first_merchant']);
    FEATURE_NAMES.forEach((name, i) => {
      if (!firstSeen.has(name)) expect([name, again.features[i]]).toEqual([name, first.features[i]]);
    });
    expect(f(again.features, 'card.first_merchant')).toBe(0);
    const [next] = await store.applyBatch([txn('t2', T0 + MINUTE, { merchantId: 'M1', accountId: 'A1' })]);
    expect(f(next.features, 'card.count_10m')).toBe(2);
    expect(f(next.features, 'merchant.count_1h')).toBe(2);
    expect(f(next.features, 'account.count_1h')).toBe(2);
  });

  test('late transactions within the lateness count in their own buckets; older ones count as nothing', async () => {
    const telemetry = new Telemetry();
    const tooOld: string[] = [];
    telemetry.on('state.too_old', ({ entity }) => tooOld.push(entity));
    const store = createMemoryStore({ allowedLatenessMs: HOUR, telemetry });
    await store.applyBatch([txn('now', T0 + 5 * HOUR, { merchantId: 'M1' })]);
    const [late] = await store.applyBatch([txn('late', T0 + 4 * HOUR + 30 * MINUTE, { merchantId: 'M1' })]);
    const [old] = await store.applyBatch([txn('old', T0 + 3 * HOUR, { merchantId: 'M1' })]);
    expect(late.tooOld).toBe(false);
    // Windows end at the late transaction: the later one is outside, unless it shares the last bucket (error bound).
    expect(f(late.features, 'card.count_1h')).toBe(1);
    expect(f(late.features, 'card.count_24h')).toBe(1);
    expect(f(late.features, 'card.count_30d')).toBe(2);
    expect(old.tooOld).toBe(true);
    expect(f(old.features, 'card.count_1h')).toBe(1); // itself only: the store did not count it
    expect(tooOld).toEqual(['card', 'merchant']);
    const [probe] = await store.applyBatch([txn('probe', T0 + 5 * HOUR + MINUTE, { merchantId: 'M1' })]);
    expect(f(probe.features, 'card.count_24h')).toBe(3);
    expect(f(probe.features, 'merchant.count_24h')).toBe(3);
  });

  test('z-score and ratio compare with earlier amounts, with floors and neutral values for a new card', async () => {
    const results = await featuresOf(
      [txn('t1', T0, { amount: 10_000 }), txn('t2', T0 + HOUR, { amount: 10_000 }), txn('t3', T0 + 2 * HOUR, { amount: 40_000 })],
      { amountStdFloor: 1000, amountMeanFloor: 1000 },
    );
    expect(f(results[0].features, 'card.amount_zscore')).toBe(0);
    expect(f(results[0].features, 'card.amount_ratio_30d')).toBe(1);
    expect(f(results[1].features, 'card.amount_zscore')).toBe(0);
    expect(f(results[2].features, 'card.amount_zscore')).toBe(30); // (40000 - 10000) / floor 1000
    expect(f(results[2].features, 'card.amount_ratio_30d')).toBe(4);
  });

  test('seconds since the previous transaction, neutral for the first', async () => {
    const results = await featuresOf([txn('t1', T0), txn('t2', T0 + 90_000), txn('t3', T0 + 90_000)]);
    expect(f(results[0].features, 'card.seconds_since_last')).toBe(NO_PREVIOUS_SECONDS);
    expect(f(results[1].features, 'card.seconds_since_last')).toBe(90);
    expect(f(results[2].features, 'card.seconds_since_last')).toBe(0);
  });

  test('distance and implied speed from the previous card-present transaction with coordinates', async () => {
    const almaty = { latitude: 43.238, longitude: 76.889, cardPresent: true };
    const astana = { latitude: 51.169, longitude: 71.449, cardPresent: true };
    const results = await featuresOf([
      txn('t1', T0, almaty),
      txn('t2', T0 + 10 * MINUTE, { channel: 'ecom', latitude: 0, longitude: 0, cardPresent: false }),
      txn('t3', T0 + HOUR, astana),
    ]);
    expect(f(results[0].features, 'card.distance_km_from_last_present')).toBe(0);
    expect(f(results[1].features, 'card.distance_km_from_last_present')).toBe(0);
    // Coordinates are kept as 32-bit floats (within a metre).
    const km = haversineKm(Math.fround(43.238), Math.fround(76.889), 51.169, 71.449);
    expect(km).toBeGreaterThan(950);
    expect(km).toBeLessThan(1000);
    expect(f(results[2].features, 'card.distance_km_from_last_present')).toBe(km);
    expect(f(results[2].features, 'card.speed_kmh_from_last_present')).toBeCloseTo(km, 9);
  });

  test('distinct places in 24 hours and first-seen flags within 30 days', async () => {
    const results = await featuresOf([
      txn('t1', T0, { merchantId: 'M1', terminalId: 'T1', country: 'KZ', mcc: '5411' }),
      txn('t2', T0 + HOUR, { merchantId: 'M2', terminalId: 'T1', country: 'KZ', mcc: '5411' }),
      txn('t3', T0 + 2 * HOUR, { merchantId: 'M1', terminalId: 'T2', country: 'AE', mcc: '5999' }),
      txn('t4', T0 + 2 * DAY, { merchantId: 'M1' }),
      txn('t5', T0 + 40 * DAY, { merchantId: 'M1', country: 'KZ' }),
    ]);
    const third = results[2].features;
    expect(f(third, 'card.distinct_merchants_24h')).toBe(2);
    expect(f(third, 'card.distinct_terminals_24h')).toBe(2);
    expect(f(third, 'card.distinct_countries_24h')).toBe(2);
    expect([f(results[0].features, 'card.first_country'), f(results[0].features, 'card.first_mcc'), f(results[0].features, 'card.first_merchant')]).toEqual([1, 1, 1]);
    expect([f(results[1].features, 'card.first_country'), f(results[1].features, 'card.first_merchant')]).toEqual([0, 1]);
    expect([f(third, 'card.first_country'), f(third, 'card.first_mcc'), f(third, 'card.first_merchant')]).toEqual([1, 1, 0]);
    expect(f(results[3].features, 'card.distinct_merchants_24h')).toBe(1);
    expect(f(results[3].features, 'card.first_country')).toBe(0); // absent field
    expect(f(results[4].features, 'card.first_merchant')).toBe(1); // beyond the 30-day horizon
  });

  test('declines and small amounts over 10 minutes and 1 hour', async () => {
    const results = await featuresOf([
      txn('t1', T0, { amount: 50, approved: false }),
      txn('t2', T0 + 5 * MINUTE, { amount: 999.99, approved: false }),
      txn('t3', T0 + 20 * MINUTE, { amount: 1000.01 }),
    ]);
    expect(f(results[1].features, 'card.declines_10m')).toBe(2);
    expect(f(results[1].features, 'card.small_amounts_10m')).toBe(2);
    expect(f(results[2].features, 'card.declines_10m')).toBe(0);
    expect(f(results[2].features, 'card.declines_1h')).toBe(2);
    expect(f(results[2].features, 'card.small_amounts_1h')).toBe(2);
  });

  test('terminal, merchant, device and IP count transactions and distinct cards; absent entities stay 0', async () => {
    const shared = { terminalId: 'T1', merchantId: 'M1', deviceId: 'D1', ip: '10.0.0.1' };
    const results = await featuresOf([
      txn('t1', T0, shared),
      txn('t2', T0 + MINUTE, { ...shared, cardToken: CARD_B }),
      txn('t3', T0 + 2 * MINUTE, { ...shared, cardToken: CARD_B }),
      txn('t4', T0 + 3 * MINUTE),
    ]);
    const third = results[2].features;
    for (const entity of ['terminal', 'merchant'] as const) {
      expect(f(third, `${entity}.count_1h`)).toBe(3);
      expect(f(third, `${entity}.distinct_cards_1h`)).toBe(2);
      expect(f(third, `${entity}.distinct_cards_7d`)).toBe(2);
    }
    expect(f(third, 'device.count_24h')).toBe(3);
    expect(f(third, 'ip.distinct_cards_24h')).toBe(2);
    const bare = results[3].features;
    for (const name of FEATURE_NAMES.filter((n) => !n.startsWith('card.'))) expect([name, f(bare, name)]).toEqual([name, 0]);
  });

  test('labels: applied, duplicate, changed and unknown; fraud counts and shares follow', async () => {
    const store = createMemoryStore();
    const at = { terminalId: 'T1', merchantId: 'M1' };
    await store.applyBatch([txn('t1', T0, at), txn('t2', T0 + HOUR, { ...at, cardToken: CARD_B }), txn('t3', T0 + 2 * HOUR, at)]);
    const outcomes = await store.recordLabels([
      label('t1', 'fraud'),
      label('t1', 'fraud'),
      label('t2', 'genuine', CARD_B),
      label('t2', 'fraud', CARD_B),
      label('nope', 'fraud'),
      label('t1', 'fraud', token('other-card')),
    ]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['applied', 'duplicate', 'applied', 'changed', 'unknown_transaction', 'unknown_transaction']);
    const [probe] = await store.applyBatch([txn('t4', T0 + 3 * HOUR, at)]);
    expect(f(probe.features, 'terminal.fraud_count_30d')).toBe(2);
    expect(f(probe.features, 'merchant.fraud_share_30d')).toBe(2 / 4);
    await store.recordLabels([label('t2', 'genuine', CARD_B)]);
    const [after] = await store.applyBatch([txn('t5', T0 + 4 * HOUR, at)]);
    expect(f(after.features, 'merchant.fraud_count_30d')).toBe(1);
    expect(f(after.features, 'merchant.fraud_share_30d_delay7d')).toBe(0); // nothing 7+ days ago yet
    const [later] = await store.applyBatch([txn('t6', T0 + 8 * DAY, at)]);
    expect(f(later.features, 'merchant.fraud_share_30d_delay7d')).toBe(1 / 5);
  });

  test('one store per caller: two stores share nothing', async () => {
    const [a] = await featuresOf([txn('t1', T0)]);
    const [b] = await featuresOf([txn('t1', T0)]);
    expect(a.duplicate || b.duplicate).toBe(false);
  });
});
