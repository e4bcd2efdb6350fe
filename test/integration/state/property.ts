/**
 * The two stores must agree: identical random streams (duplicates, late and too-old events, gaps from milliseconds
 * to weeks, bursts at one instant, labels, changing options) fed to the Redis store and the in-memory store give
 * identical feature vectors, flags and label outcomes.
 */
import fc from 'fast-check';
import type { Cluster, Redis } from 'ioredis';
import type { CardLabel, CardTransaction } from '../../../src/contract/transaction';
import { FEATURE_NAMES } from '../../../src/state/features';
import { createMemoryStore } from '../../../src/state/memory-store';
import type { StateOptions } from '../../../src/state/options';
import { createRedisStore } from '../../../src/state/redis-store';
import { DAY, HOUR, MINUTE, T0, token } from '../../unit/state/builders';
import { deleteKeysUnder, uniquePrefix } from './support';

type Step =
  | { kind: 'txn'; card: number; gap: number; lateBy: number; amount: number; approved: boolean; fields: Partial<CardTransaction>; cut: boolean }
  | { kind: 'redeliver'; pick: number; cut: boolean }
  | { kind: 'label'; pick: number; fraud: boolean; wrongCard: boolean };

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 3 });

const gapArbitrary = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) }, // bursts at one instant
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 3_000 }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 15 * MINUTE }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5 * HOUR }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 12 * DAY }) },
  { weight: 1, arbitrary: fc.integer({ min: 29 * DAY, max: 31 * DAY }) }, // around the 30-day horizon
  { weight: 1, arbitrary: fc.integer({ min: 25 * DAY, max: 45 * DAY }) },
);

const fieldsArbitrary: fc.Arbitrary<Partial<CardTransaction>> = fc
  .record({
    merchantId: optional(fc.constantFrom('M0', 'M1', 'M2')),
    terminalId: optional(fc.constantFrom('T0', 'T1', 'T2')),
    accountId: optional(fc.constantFrom('A0', 'A1')),
    deviceId: optional(fc.constantFrom('D0', 'D1')),
    ip: optional(fc.constantFrom('10.0.0.1', '10.0.0.2')),
    country: optional(fc.constantFrom('KZ', 'AE', 'US')),
    mcc: optional(fc.constantFrom('5411', '5999', '6011')),
    cardPresent: optional(fc.boolean()),
    position: optional(fc.record({ latitude: fc.double({ min: -90, max: 90, noNaN: true }), longitude: fc.double({ min: -180, max: 180, noNaN: true }) })),
  })
  .map(({ position, ...rest }) => {
    const fields: Partial<CardTransaction> = {};
    for (const [key, value] of Object.entries(rest)) if (value !== undefined) Object.assign(fields, { [key]: value });
    if (position) Object.assign(fields, position);
    return fields;
  });

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('txn' as const),
      card: fc.integer({ min: 0, max: 2 }),
      gap: gapArbitrary,
      lateBy: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 * HOUR }) }),
      amount: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 50_000_000 }).map((cents) => cents / 100)),
      approved: fc.boolean(),
      fields: fieldsArbitrary,
      cut: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat(), cut: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('label' as const), pick: fc.nat(), fraud: fc.boolean(), wrongCard: fc.boolean() }) },
);

const optionsArbitrary: fc.Arbitrary<Partial<StateOptions>> = fc.record({
  allowedLatenessMs: fc.constantFrom(0, 10 * MINUTE, HOUR, 3 * HOUR),
  smallAmountLimit: fc.constantFrom(0, 1000),
  amountStdFloor: fc.constantFrom(1, 1000),
});

type Action = { kind: 'batch'; txns: CardTransaction[] } | { kind: 'labels'; labels: CardLabel[] };

/** Turns steps into store calls: transaction batches cut at random points, labels between them. */
function actionsOf(steps: readonly Step[], runId: string): Action[] {
  const actions: Action[] = [];
  const sent: CardTransaction[] = [];
  let batch: CardTransaction[] = [];
  let clock = T0;
  const flush = () => {
    if (batch.length > 0) actions.push({ kind: 'batch', txns: batch });
    batch = [];
  };
  steps.forEach((step, index) => {
    if (step.kind === 'label') {
      if (sent.length === 0) return;
      flush();
      const target = sent[step.pick % sent.length];
      const cardToken = step.wrongCard ? token('nobody') : target.cardToken;
      actions.push({ kind: 'labels', labels: [{ transactionId: target.transactionId, cardToken, label: step.fraud ? 'fraud' : 'genuine', reportedAtMs: clock }] });
      return;
    }
    if (step.kind === 'redeliver') {
      if (sent.length === 0) return;
      batch.push(sent[step.pick % sent.length]);
    } else {
      clock += step.gap;
      const eventTimeMs = clock - step.lateBy;
      const txn: CardTransaction = {
        transactionId: `${runId}-${index}`,
        eventTimeMs,
        timestamp: new Date(eventTimeMs).toISOString(),
        cardToken: token(`prop-card-${step.card}`),
        amount: step.amount,
        currency: 'KZT',
        approved: step.approved,
        ...step.fields,
      };
      sent.push(txn);
      batch.push(txn);
    }
    if (step.cut) flush();
  });
  flush();
  return actions;
}

export async function checkStoresAgree(redis: Redis | Cluster, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArbitrary, { minLength: 1, maxLength: 45 }), optionsArbitrary, async (steps, options) => {
      const prefix = uniquePrefix('property');
      const viaRedis = createRedisStore(redis, { ...options, keyPrefix: prefix });
      const viaMemory = createMemoryStore(options);
      try {
        for (const action of actionsOf(steps, prefix)) {
          if (action.kind === 'labels') {
            expect(await viaRedis.recordLabels(action.labels)).toEqual(await viaMemory.recordLabels(action.labels));
            continue;
          }
          const [fromRedis, fromMemory] = [await viaRedis.applyBatch(action.txns), await viaMemory.applyBatch(action.txns)];
          fromRedis.forEach((applied, i) => {
            const expected = fromMemory[i];
            const where = `${action.txns[i].transactionId}`;
            expect([where, applied.duplicate, applied.tooOld]).toEqual([where, expected.duplicate, expected.tooOld]);
            FEATURE_NAMES.forEach((name, j) => {
              if (!Object.is(applied.features[j], expected.features[j])) {
                throw new Error(`${where} ${name}: Redis ${applied.features[j]} ≠ memory ${expected.features[j]}`);
              }
            });
          });
        }
      } finally {
        await deleteKeysUnder(redis, prefix);
      }
    }),
    { numRuns },
  );
}
