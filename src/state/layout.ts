/**
 * The byte layout of an entity's windowed aggregates: one binary string per entity, a small header followed by one
 * ring of buckets per window tier. The Lua scripts (by byte patches) and the in-memory store make the very same
 * bytes, and `features.ts` reads them, so both stores agree to the bit.
 *
 * Ring discipline: a tier of `slots` buckets of `widthMs` holds buckets `head - slots + 1 … head`, where
 * `head = floor(last / widthMs)` and `last` is the latest event time the entity has seen. When `last` advances,
 * the slots of the buckets passed over are zeroed, so a slot never needs to remember which bucket it holds.
 * A window of length W is read from the tier whose width is W/10, as the 11 buckets ending at the event's bucket:
 * it covers at least W and at most W + W/10 (the stated error bound).
 */

/** "No such time": far before any real event, so comparisons and bucket arithmetic stay plain. */
export const NO_TIME = -1e15;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** The card's places and references are scanned for expired entries once per this much event time. */
export const PRUNE_PERIOD_MS = 7 * DAY_MS;

/** Counters clamp at these bounds (a counter never wraps or goes negative). */
export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;

export type LaneName =
  | 'count'
  | 'amount'
  | 'sumsq'
  | 'declines'
  | 'small'
  | 'merchants'
  | 'terminals'
  | 'countries'
  | 'cards'
  | 'fraud';

const LANE_NAMES: readonly LaneName[] = ['count', 'amount', 'sumsq', 'declines', 'small', 'merchants', 'terminals', 'countries', 'cards', 'fraud'];

/** Amounts are sums of money: exact doubles. Everything else counts, in the layout's counter width. */
const AMOUNT_LANES = new Set<LaneName>(['amount', 'sumsq']);

export type LaneType = 'u16' | 'u32' | 'f32' | 'f64';
const LANE_CODE: Readonly<Record<LaneType, number>> = { u16: 0, u32: 1, f64: 2, f32: 3 };

const TYPE_BYTES: Record<LaneType, number> = { u16: 2, u32: 4, f32: 4, f64: 8 };
const TYPE_STRUCT: Record<LaneType, string> = { u16: 'H', u32: 'I4', f32: 'f', f64: 'd' };
export const COUNTER_MAX: Partial<Record<LaneType, number>> = { u16: U16_MAX, u32: U32_MAX };

export type TierName = 'm10' | 'h1' | 'd1' | 'd7' | 'd30' | 'days';

export interface Tier {
  name: TierName;
  /** Position in the layout's tiers. */
  index: number;
  widthMs: number;
  slots: number;
  lanes: readonly LaneName[];
  /** Position of each lane in `lanes` (-1 when the tier lacks it). */
  laneIndex: Readonly<Record<LaneName, number>>;
  laneTypes: readonly LaneType[];
  /** laneTypes as LANE_CODE numbers, for the window sums' inner loop. */
  laneCodes: Uint8Array;
  /** Byte offset of each lane inside a slot. */
  laneOffsets: readonly number[];
  /** Byte offset of the ring inside the aggregate. */
  offset: number;
  slotSize: number;
  /** The Lua `struct` format of one slot. */
  structFormat: string;
}

export type HeaderField =
  | 'last'
  | 'prev'
  | 'presentAt'
  | 'prevPresentAt'
  | 'presentLat'
  | 'presentLon'
  | 'prevPresentLat'
  | 'prevPresentLon';

/** Times are epoch ms (exact doubles); coordinates are degrees, where a 32-bit float is within a metre. */
export const HEADER_TYPES: Readonly<Record<HeaderField, LaneType>> = {
  last: 'f64',
  prev: 'f64',
  presentAt: 'f64',
  prevPresentAt: 'f64',
  presentLat: 'f32',
  presentLon: 'f32',
  prevPresentLat: 'f32',
  prevPresentLon: 'f32',
};

export type LayoutName = 'card' | 'account' | 'acceptor' | 'client';

export interface Layout {
  name: LayoutName;
  /** First byte of every aggregate; a script refuses an aggregate of another version or size. */
  version: number;
  header: readonly HeaderField[];
  headerOffsets: Readonly<Partial<Record<HeaderField, number>>>;
  /** The Lua `struct` format of the version byte and the header. */
  headerFormat: string;
  tiers: readonly Tier[];
  tierByName: Readonly<Partial<Record<TierName, Tier>>>;
  /** Bytes of an aggregate: version, header and rings. */
  size: number;
  /** How long a card's latest sighting must be remembered for the distinct-card counters (0: none kept). */
  cardsHorizonMs: number;
}

interface TierSpec {
  name: TierName;
  widthMs: number;
  slots: number;
  lanes: readonly LaneName[];
}

const HEADER_START = 1; // after the version byte

function defineLayout(
  name: LayoutName,
  version: number,
  header: readonly HeaderField[],
  specs: readonly TierSpec[],
  counters: 'u16' | 'u32',
): Layout {
  if (header[0] !== 'last') throw new Error(`layout ${name}: 'last' must be the first header field`);
  const headerOffsets: Partial<Record<HeaderField, number>> = {};
  let offset = HEADER_START;
  for (const field of header) {
    headerOffsets[field] = offset;
    offset += TYPE_BYTES[HEADER_TYPES[field]];
  }
  const headerFormat = `<B${header.map((field) => TYPE_STRUCT[HEADER_TYPES[field]]).join('')}`;
  const tiers: Tier[] = specs.map((spec, index) => {
    const laneTypes = spec.lanes.map((lane): LaneType => (AMOUNT_LANES.has(lane) ? 'f64' : counters));
    const laneOffsets: number[] = [];
    let slotSize = 0;
    for (const type of laneTypes) {
      laneOffsets.push(slotSize);
      slotSize += TYPE_BYTES[type];
    }
    const laneIndex = Object.fromEntries(LANE_NAMES.map((lane) => [lane, spec.lanes.indexOf(lane)]));
    const tier: Tier = {
      ...spec,
      index,
      laneIndex: laneIndex as Record<LaneName, number>,
      laneTypes,
      laneCodes: Uint8Array.from(laneTypes, (type) => LANE_CODE[type]),
      laneOffsets,
      offset,
      slotSize,
      structFormat: `<${laneTypes.map((type) => TYPE_STRUCT[type]).join('')}`,
    };
    offset += slotSize * spec.slots;
    return tier;
  });
  const cardsHorizonMs = Math.max(0, ...tiers.filter((t) => t.lanes.includes('cards')).map(spanOf));
  const tierByName = Object.fromEntries(tiers.map((tier) => [tier.name, tier]));
  return { name, version, header, headerOffsets, headerFormat, tiers, tierByName, size: offset, cardsHorizonMs };
}

/** Window tiers: width = window / 10, 11 slots, so the window ending at the newest bucket is always in the ring. */
const m10 = (lanes: readonly LaneName[]): TierSpec => ({ name: 'm10', widthMs: MINUTE_MS, slots: 11, lanes });
const h1 = (lanes: readonly LaneName[]): TierSpec => ({ name: 'h1', widthMs: 6 * MINUTE_MS, slots: 11, lanes });
const d1 = (lanes: readonly LaneName[]): TierSpec => ({ name: 'd1', widthMs: 144 * MINUTE_MS, slots: 11, lanes });
const d7 = (lanes: readonly LaneName[]): TierSpec => ({ name: 'd7', widthMs: 1008 * MINUTE_MS, slots: 11, lanes });
const d30 = (lanes: readonly LaneName[]): TierSpec => ({ name: 'd30', widthMs: 3 * DAY_MS, slots: 11, lanes });

/** Per-day counts of an acceptor, read as "30 days" and "30 days ending 7 days ago" (labels arrive late). */
export const FRAUD_WINDOW_DAYS = 30;
export const FRAUD_DELAY_DAYS = 7;
const days: TierSpec = { name: 'days', widthMs: DAY_MS, slots: FRAUD_WINDOW_DAYS + FRAUD_DELAY_DAYS + 1, lanes: ['count', 'fraud'] };

const AMOUNT_LANES_OF_WINDOW: readonly LaneName[] = ['count', 'amount'];

/** The card's places (first-seen and distinct counts) are a string of these: 4-byte hash of "kind:id", 4-byte minute. */
export const PLACE_ENTRY_BYTES = 8;

export const LAYOUTS: Readonly<Record<LayoutName, Layout>> = {
  // A card cannot make 65 535 transactions in one bucket: 16-bit counters (they saturate) keep it under 2 KB.
  card: defineLayout(
    'card',
    2,
    ['last', 'prev', 'presentAt', 'prevPresentAt', 'presentLat', 'presentLon', 'prevPresentLat', 'prevPresentLon'],
    [
      m10(['count', 'amount', 'declines', 'small']),
      h1(['count', 'amount', 'declines', 'small']),
      d1(['count', 'amount', 'merchants', 'terminals', 'countries']),
      d7(AMOUNT_LANES_OF_WINDOW),
      d30(['count', 'amount', 'sumsq']),
    ],
    'u16',
  ),
  // A company account, terminal or merchant can: 32-bit counters.
  account: defineLayout(
    'account',
    2,
    ['last', 'prev'],
    [m10(AMOUNT_LANES_OF_WINDOW), h1(AMOUNT_LANES_OF_WINDOW), d1(AMOUNT_LANES_OF_WINDOW), d7(AMOUNT_LANES_OF_WINDOW), d30(['count', 'amount', 'sumsq'])],
    'u32',
  ),
  acceptor: defineLayout('acceptor', 2, ['last'], [h1(['count', 'cards']), d1(['count', 'cards']), d7(['count', 'cards']), days], 'u32'),
  client: defineLayout('client', 2, ['last'], [d1(['count', 'cards'])], 'u32'),
};

export function spanOf(tier: Pick<Tier, 'widthMs' | 'slots'>): number {
  return tier.widthMs * tier.slots;
}

export function tierOf(layout: Layout, name: TierName): Tier {
  const tier = layout.tierByName[name];
  if (tier === undefined) throw new Error(`layout ${layout.name} has no tier ${name}`);
  return tier;
}

export function laneIndexOf(tier: Tier, lane: LaneName): number {
  return tier.laneIndex[lane];
}

export function bucketOf(tier: Pick<Tier, 'widthMs'>, timeMs: number): number {
  return Math.floor(timeMs / tier.widthMs);
}

/** A bucket is live while the ring still holds it: within `slots` buckets of the newest one, and not ahead of it. */
export function isLive(tier: Tier, bucket: number, lastMs: number): boolean {
  const head = bucketOf(tier, lastMs);
  return bucket <= head && bucket > head - tier.slots;
}

function slotOffset(tier: Tier, bucket: number): number {
  const slot = ((bucket % tier.slots) + tier.slots) % tier.slots;
  return tier.offset + slot * tier.slotSize;
}

function readAt(aggregate: Buffer, type: LaneType, at: number): number {
  switch (type) {
    case 'u16':
      return aggregate.readUInt16LE(at);
    case 'u32':
      return aggregate.readUInt32LE(at);
    case 'f32':
      return aggregate.readFloatLE(at);
    case 'f64':
      return aggregate.readDoubleLE(at);
  }
}

function writeAt(aggregate: Buffer, type: LaneType, at: number, value: number): void {
  switch (type) {
    case 'u16':
      aggregate.writeUInt16LE(value, at);
      return;
    case 'u32':
      aggregate.writeUInt32LE(value, at);
      return;
    case 'f32':
      aggregate.writeFloatLE(value, at);
      return;
    case 'f64':
      aggregate.writeDoubleLE(value, at);
  }
}

function headerOffset(layout: Layout, field: HeaderField): number {
  const at = layout.headerOffsets[field];
  if (at === undefined) throw new Error(`layout ${layout.name} has no header field ${field}`);
  return at;
}

// ---- reading (features.ts) and editing (the in-memory twin of the Lua scripts) ----

/** A new aggregate: no times, coordinates 0, every bucket 0, no places. */
export function emptyAggregate(layout: Layout): Buffer {
  const aggregate = Buffer.alloc(layout.size);
  aggregate.writeUInt8(layout.version, 0);
  for (const field of layout.header) if (HEADER_TYPES[field] === 'f64') aggregate.writeDoubleLE(NO_TIME, headerOffset(layout, field));
  return aggregate;
}

export function aggregateFits(layout: Layout, aggregate: Buffer): boolean {
  return aggregate.length === layout.size && aggregate.readUInt8(0) === layout.version;
}

export function readHeader(layout: Layout, aggregate: Buffer, field: HeaderField): number {
  return readAt(aggregate, HEADER_TYPES[field], headerOffset(layout, field));
}

export function writeHeader(layout: Layout, aggregate: Buffer, field: HeaderField, value: number): void {
  writeAt(aggregate, HEADER_TYPES[field], headerOffset(layout, field), value);
}

/** Adds to one lane of one bucket; counters clamp to 0…max of their width exactly as the Lua helper does. */
export function addToLane(tier: Tier, aggregate: Buffer, bucket: number, lane: number, delta: number): void {
  const p = slotOffset(tier, bucket) + tier.laneOffsets[lane];
  // By lane code, bytes read and written directly (as Buffer's own readUInt16LE/writeUInt16LE do): the twin's
  // hottest write, once per tier and lane a transaction counts in.
  switch (tier.laneCodes[lane]) {
    case 0: {
      const value = Math.min(U16_MAX, Math.max(0, (aggregate[p] | (aggregate[p + 1] << 8)) + delta));
      aggregate[p] = value;
      aggregate[p + 1] = value >>> 8;
      return;
    }
    case 1: {
      const read = aggregate[p] + aggregate[p + 1] * 0x100 + aggregate[p + 2] * 0x10000 + aggregate[p + 3] * 0x1000000;
      const value = Math.min(U32_MAX, Math.max(0, read + delta));
      aggregate[p] = value;
      aggregate[p + 1] = value >>> 8;
      aggregate[p + 2] = value >>> 16;
      aggregate[p + 3] = value >>> 24;
      return;
    }
    case 2:
      aggregate.writeDoubleLE(aggregate.readDoubleLE(p) + delta, p);
      return;
    default:
      aggregate.writeFloatLE(aggregate.readFloatLE(p) + delta, p);
  }
}

/** Zeroes the slots of the buckets passed over when the newest event time moves from `fromMs` to `toMs`. */
export function advanceRings(layout: Layout, aggregate: Buffer, fromMs: number, toMs: number): void {
  for (const tier of layout.tiers) {
    const fromHead = bucketOf(tier, fromMs);
    const toHead = bucketOf(tier, toMs);
    if (toHead - fromHead >= tier.slots) {
      aggregate.fill(0, tier.offset, tier.offset + tier.slots * tier.slotSize);
    } else {
      for (let bucket = fromHead + 1; bucket <= toHead; bucket++) {
        const at = slotOffset(tier, bucket);
        aggregate.fill(0, at, at + tier.slotSize);
      }
    }
  }
}

/** The newest event time of an aggregate ('last' is the first header field of every layout). */
export function lastOf(aggregate: Buffer): number {
  return aggregate.readDoubleLE(HEADER_START);
}

/**
 * Sums of every lane over buckets `endBucket - length + 1 … endBucket` that the ring still holds, in one pass over
 * the slots, oldest bucket first (both stores add in this order, so float sums agree to the bit). Written into
 * `sums` (its first `tier.lanes.length` entries): the feature path reuses one array instead of allocating per window.
 */
export function windowSumsInto(sums: Float64Array, tier: Tier, aggregate: Buffer, endBucket: number, length: number): Float64Array {
  const lanes = tier.lanes.length;
  sums.fill(0, 0, lanes);
  const head = bucketOf(tier, lastOf(aggregate));
  const from = Math.max(endBucket - length + 1, head - tier.slots + 1);
  const to = Math.min(endBucket, head);
  const { laneOffsets, laneCodes, slots, slotSize, offset } = tier;
  // The slot of bucket `from`, then the next one round the ring (no modulo per bucket).
  let slot = ((from % slots) + slots) % slots;
  for (let bucket = from; bucket <= to; bucket++, slot = slot + 1 === slots ? 0 : slot + 1) {
    const at = offset + slot * slotSize;
    for (let lane = 0; lane < lanes; lane++) {
      // The hottest loop of feature computation: counters read from the bytes directly (little-endian), not
      // through a Buffer method per value.
      const p = at + laneOffsets[lane];
      const code = laneCodes[lane];
      sums[lane] +=
        code === 0
          ? aggregate[p] | (aggregate[p + 1] << 8)
          : code === 1
            ? aggregate[p] + aggregate[p + 1] * 0x100 + aggregate[p + 2] * 0x10000 + aggregate[p + 3] * 0x1000000
            : code === 2
              ? aggregate.readDoubleLE(p)
              : aggregate.readFloatLE(p);
    }
  }
  return sums;
}

/** windowSumsInto with a new array. */
export function windowSums(tier: Tier, aggregate: Buffer, endBucket: number, length: number): Float64Array {
  return windowSumsInto(new Float64Array(tier.lanes.length), tier, aggregate, endBucket, length);
}

/** Sum of one lane over buckets `endBucket - length + 1 … endBucket` that the ring still holds. */
export function windowSum(tier: Tier, aggregate: Buffer, lane: number, endBucket: number, length: number): number {
  return windowSums(tier, aggregate, endBucket, length)[lane];
}
