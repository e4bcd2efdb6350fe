import {
  LAYOUTS,
  MINUTE_MS,
  NO_TIME,
  PLACE_ENTRY_BYTES,
  U16_MAX,
  U32_MAX,
  addToLane,
  advanceRings,
  aggregateFits,
  emptyAggregate,
  isLive,
  laneIndexOf,
  readHeader,
  tierOf,
  windowSum,
  writeHeader,
} from '../../../src/state/layout';
import { T0 } from './builders';

const card = LAYOUTS.card;
const m10 = tierOf(card, 'm10');
const count = laneIndexOf(m10, 'count');
const amount = laneIndexOf(m10, 'amount');

function aggregateAt(lastMs: number): Buffer {
  const aggregate = emptyAggregate(card);
  writeHeader(card, aggregate, 'last', lastMs);
  return aggregate;
}

describe('layout', () => {
  test('every window tier is at most a tenth of its window wide and holds 11 buckets', () => {
    const windows = { m10: 10 * MINUTE_MS, h1: 60 * MINUTE_MS, d1: 1440 * MINUTE_MS, d7: 7 * 1440 * MINUTE_MS, d30: 30 * 1440 * MINUTE_MS };
    for (const layout of Object.values(LAYOUTS)) {
      for (const tier of layout.tiers) {
        if (tier.name === 'days') continue;
        expect(tier.widthMs).toBeLessThanOrEqual(windows[tier.name] / 10);
        expect(tier.slots).toBe(11);
      }
    }
  });

  test('an empty aggregate has the layout version, no times and zero buckets', () => {
    const aggregate = emptyAggregate(card);
    expect(aggregate.length).toBe(card.size);
    expect(aggregateFits(card, aggregate)).toBe(true);
    expect(aggregateFits(LAYOUTS.account, aggregate)).toBe(false);
    expect(readHeader(card, aggregate, 'last')).toBe(NO_TIME);
    expect(readHeader(card, aggregate, 'prevPresentAt')).toBe(NO_TIME);
    expect(readHeader(card, aggregate, 'prevPresentLon')).toBe(0);
    expect(windowSum(m10, aggregate, count, 0, 11)).toBe(0);
  });

  test('a bucket is live from the newest bucket back to slots - 1 before it, never ahead', () => {
    const head = Math.floor(T0 / MINUTE_MS);
    expect(isLive(m10, head, T0)).toBe(true);
    expect(isLive(m10, head - 10, T0)).toBe(true);
    expect(isLive(m10, head - 11, T0)).toBe(false);
    expect(isLive(m10, head + 1, T0)).toBe(false);
  });

  test('advancing zeroes exactly the slots passed over', () => {
    const aggregate = aggregateAt(T0);
    const head = Math.floor(T0 / MINUTE_MS);
    for (let b = head - 10; b <= head; b++) addToLane(m10, aggregate, b, count, 1);
    advanceRings(card, aggregate, T0, T0 + 3 * MINUTE_MS);
    writeHeader(card, aggregate, 'last', T0 + 3 * MINUTE_MS);
    // buckets head-10..head-8 were reused for head+1..head+3 and zeroed; the other 8 keep their counts
    expect(windowSum(m10, aggregate, count, head + 3, 11)).toBe(8);
    advanceRings(card, aggregate, T0 + 3 * MINUTE_MS, T0 + 60 * MINUTE_MS);
    writeHeader(card, aggregate, 'last', T0 + 60 * MINUTE_MS);
    expect(windowSum(m10, aggregate, count, head + 60, 11)).toBe(0);
  });

  test('a window sums only live buckets up to its end', () => {
    const aggregate = aggregateAt(T0 + 5 * MINUTE_MS);
    const head = Math.floor((T0 + 5 * MINUTE_MS) / MINUTE_MS);
    addToLane(m10, aggregate, head, amount, 10.5);
    addToLane(m10, aggregate, head - 5, amount, 0.25);
    expect(windowSum(m10, aggregate, amount, head, 11)).toBe(10.75);
    expect(windowSum(m10, aggregate, amount, head - 1, 11)).toBe(0.25);
    expect(windowSum(m10, aggregate, amount, head, 3)).toBe(10.5);
  });

  test('counters clamp at 0 and at the maximum of their width instead of wrapping', () => {
    const aggregate = aggregateAt(T0);
    const head = Math.floor(T0 / MINUTE_MS);
    addToLane(m10, aggregate, head, count, -1);
    expect(windowSum(m10, aggregate, count, head, 1)).toBe(0);
    addToLane(m10, aggregate, head, count, U16_MAX);
    addToLane(m10, aggregate, head, count, 5);
    expect(windowSum(m10, aggregate, count, head, 1)).toBe(U16_MAX); // a card's counters are 16 bits

    const acceptor = LAYOUTS.acceptor;
    const h1 = tierOf(acceptor, 'h1');
    const wide = emptyAggregate(acceptor);
    writeHeader(acceptor, wide, 'last', T0);
    const bucket = Math.floor(T0 / h1.widthMs);
    addToLane(h1, wide, bucket, laneIndexOf(h1, 'count'), U16_MAX + 10);
    expect(windowSum(h1, wide, laneIndexOf(h1, 'count'), bucket, 1)).toBe(U16_MAX + 10);
    addToLane(h1, wide, bucket, laneIndexOf(h1, 'count'), U32_MAX);
    expect(windowSum(h1, wide, laneIndexOf(h1, 'count'), bucket, 1)).toBe(U32_MAX);
  });

  test('a card with a month of places stays well under 2 KB', () => {
    expect(card.size + 80 * PLACE_ENTRY_BYTES).toBeLessThan(1600);
  });
});
