/**
 * The TypeScript twin of the Lua scripts in ./lua: the same steps, in the same order, on the same bytes. The
 * in-memory store runs it; the property test holds it to the scripts by comparing features on random streams.
 * When you change a script, change its twin here (and the other way round).
 */
import { LABEL_CODE, NO_LABEL, ReturnCode } from './codes';
import { transactionFingerprint, type CardEvent, type EntityEvent } from './entity-events';
import {
  MINUTE_MS,
  NO_TIME,
  PLACE_ENTRY_BYTES,
  PRUNE_PERIOD_MS,
  addToLane,
  advanceRings,
  bucketOf,
  emptyAggregate,
  isLive,
  laneIndexOf,
  lastOf,
  readHeader,
  spanOf,
  tierOf,
  writeHeader,
  type LaneName,
  type Layout,
} from './layout';

export type UpdateCode = ReturnCode.Applied | ReturnCode.Duplicate | ReturnCode.TooOld;

/**
 * What the card script returns for one transaction. Times are NO_TIME when there is none. From the Redis store the
 * aggregates are a copy; from the twin they are the live state, edited in place by the next update: read them first.
 */
export interface CardUpdate {
  code: UpdateCode;
  /** The card's aggregates after this transaction (null: the card has no state). */
  aggregate: Buffer | null;
  merchantLastSeenMs: number;
  terminalLastSeenMs: number;
  countryLastSeenMs: number;
  firstCountry: boolean;
  firstMcc: boolean;
  firstMerchant: boolean;
}

/** What the entity script returns for one transaction of an account, terminal, merchant, device or IP. */
export interface EntityUpdate {
  code: UpdateCode;
  aggregate: Buffer | null;
  /** When this card was last seen by the entity (NO_TIME when the layout keeps no distinct cards). */
  cardLastSeenMs: number;
}

export type LabelCode =
  | ReturnCode.LabelApplied
  | ReturnCode.LabelDuplicate
  | ReturnCode.LabelChanged
  | ReturnCode.LabelUnknownTransaction;

export interface CardLabelUpdate {
  code: LabelCode;
  /** Present unless the transaction is unknown. */
  reference?: { eventTimeMs: number; terminalId: string; merchantId: string };
}

export interface UpdateParams {
  allowedLatenessMs: number;
  horizonMs: number;
}

/**
 * A sorted set of member → time, like the Redis sets behind it. Reads say which members are too old to count
 * (`cutoff`), exactly as the scripts do, so when the bulk sweep runs does not matter; it runs when the map has
 * doubled, so pruning costs O(1) amortized.
 */
export class TimedSet {
  private readonly scores = new Map<string, number>();
  private sizeAfterSweep = 0;

  score(member: string, cutoff: number): number | undefined {
    const score = this.scores.get(member);
    return score !== undefined && score >= cutoff ? score : undefined;
  }

  set(member: string, score: number, cutoff: number): void {
    this.scores.set(member, score);
    if (this.scores.size < 2 * this.sizeAfterSweep + 64) return;
    for (const [key, value] of this.scores) if (value < cutoff) this.scores.delete(key);
    this.sizeAfterSweep = this.scores.size;
  }
}

export interface CardReference {
  minute: number;
  label: number;
  terminalId: string;
  merchantId: string;
}

export interface CardState {
  aggregate: Buffer | null;
  /** 8-byte entries: 4-byte place hash, 4-byte minute last seen; as the Redis string. */
  places: Buffer;
  /** By transaction fingerprint (as a latin1 string), as the Redis hash. */
  references: Map<string, CardReference>;
}

export interface EntityState {
  aggregate: Buffer | null;
  seen: TimedSet;
  cards: TimedSet;
  /** transactionId → minute * 4 + label, as in the Redis label set. */
  labels: Map<string, number>;
}

export function newCardState(): CardState {
  return { aggregate: null, places: Buffer.alloc(0), references: new Map() };
}

export function newEntityState(): EntityState {
  return { aggregate: null, seen: new TimedSet(), cards: new TimedSet(), labels: new Map() };
}

/** Adds to a lane of every tier that has it, when the event's bucket is still live (isLive, inlined). */
function addToTiers(layout: Layout, aggregate: Buffer, timeMs: number, lastMs: number, lane: LaneName, delta: number): void {
  for (const tier of layout.tiers) {
    const index = tier.laneIndex[lane];
    if (index < 0) continue;
    const bucket = Math.floor(timeMs / tier.widthMs);
    const head = Math.floor(lastMs / tier.widthMs);
    if (bucket <= head && bucket > head - tier.slots) addToLane(tier, aggregate, bucket, index, delta);
  }
}

/** Moves a distinct counter from the bucket of the previous sighting to the bucket of this one. */
function moveSighting(layout: Layout, aggregate: Buffer, lane: LaneName, priorMs: number, timeMs: number, lastMs: number): void {
  if (priorMs !== NO_TIME) addToTiers(layout, aggregate, priorMs, lastMs, lane, -1);
  addToTiers(layout, aggregate, timeMs, lastMs, lane, 1);
}

/** Moves the header's `last`/`prev` and the rings forward to an event at `timeMs`; returns the new `last`. */
function advance(layout: Layout, aggregate: Buffer, timeMs: number): number {
  const last = lastOf(aggregate);
  if (timeMs > last) advanceRings(layout, aggregate, last, timeMs);
  if (timeMs >= last) {
    if (layout.headerOffsets.prev !== undefined) writeHeader(layout, aggregate, 'prev', last);
    writeHeader(layout, aggregate, 'last', timeMs);
    return timeMs;
  }
  return last;
}

// ---- the card's places: 8-byte entries (hash, minute); lua/includes/*Place*.lua ----

function findPlace(places: Buffer, hash: Buffer): number {
  for (let at = places.indexOf(hash); at >= 0; at = places.indexOf(hash, at + 1)) {
    if (at % PLACE_ENTRY_BYTES === 0) return at;
  }
  return -1;
}

function placeLastSeen(places: Buffer, hash: Buffer, cutoffMs: number): number {
  const at = findPlace(places, hash);
  if (at < 0) return NO_TIME;
  const seen = places.readUInt32LE(at + 4) * MINUTE_MS;
  return seen < cutoffMs ? NO_TIME : seen;
}

function setPlace(places: Buffer, hash: Buffer, minute: number): Buffer {
  const at = findPlace(places, hash);
  if (at >= 0) {
    places.writeUInt32LE(minute, at + 4);
    return places;
  }
  const entry = Buffer.alloc(PLACE_ENTRY_BYTES);
  hash.copy(entry, 0);
  entry.writeUInt32LE(minute, 4);
  return Buffer.concat([places, entry]);
}

function prunePlaces(places: Buffer, cutoffMs: number): Buffer {
  const kept: Buffer[] = [];
  for (let at = 0; at < places.length; at += PLACE_ENTRY_BYTES) {
    if (places.readUInt32LE(at + 4) * MINUTE_MS >= cutoffMs) kept.push(places.subarray(at, at + PLACE_ENTRY_BYTES));
  }
  return Buffer.concat(kept);
}

/** Twin of lua/includes/updateCardAt.lua (updateBatch-n.lua) for one transaction. */
export function applyCardEvent(layout: Layout, state: CardState, event: CardEvent, params: UpdateParams): CardUpdate {
  const t = event.eventTimeMs;
  const lastBefore = state.aggregate === null ? NO_TIME : lastOf(state.aggregate);
  const { merchant, terminal, country, mcc } = event.places;
  // When the card last saw each place of this transaction (NO_TIME: not within the horizon, or no such place).
  const placeCutoff = lastBefore - params.horizonMs;
  const priorMerchant = merchant === undefined ? NO_TIME : placeLastSeen(state.places, merchant, placeCutoff);
  const priorTerminal = terminal === undefined ? NO_TIME : placeLastSeen(state.places, terminal, placeCutoff);
  const priorCountry = country === undefined ? NO_TIME : placeLastSeen(state.places, country, placeCutoff);
  const priorMcc = mcc === undefined ? NO_TIME : placeLastSeen(state.places, mcc, placeCutoff);

  const reference = state.references.get(event.fingerprintKey);
  let code: UpdateCode;
  if (reference !== undefined && reference.minute * MINUTE_MS >= lastBefore - params.horizonMs) code = ReturnCode.Duplicate;
  else if (state.aggregate !== null && t < lastBefore - params.allowedLatenessMs) code = ReturnCode.TooOld;
  else {
    code = ReturnCode.Applied;
    const aggregate = state.aggregate ?? emptyAggregate(layout);
    const last = advance(layout, aggregate, t);
    if (event.position !== undefined && t >= readHeader(layout, aggregate, 'presentAt')) {
      writeHeader(layout, aggregate, 'prevPresentAt', readHeader(layout, aggregate, 'presentAt'));
      writeHeader(layout, aggregate, 'prevPresentLat', readHeader(layout, aggregate, 'presentLat'));
      writeHeader(layout, aggregate, 'prevPresentLon', readHeader(layout, aggregate, 'presentLon'));
      writeHeader(layout, aggregate, 'presentAt', t);
      writeHeader(layout, aggregate, 'presentLat', event.position.latitude);
      writeHeader(layout, aggregate, 'presentLon', event.position.longitude);
    }
    addToTiers(layout, aggregate, t, last, 'count', 1);
    addToTiers(layout, aggregate, t, last, 'amount', event.amount);
    addToTiers(layout, aggregate, t, last, 'sumsq', event.amount * event.amount);
    if (event.declined) addToTiers(layout, aggregate, t, last, 'declines', 1);
    if (event.small) addToTiers(layout, aggregate, t, last, 'small', 1);
    const minute = Math.floor(t / MINUTE_MS);
    // In PLACE_KINDS order, as the script visits them.
    if (merchant !== undefined && priorMerchant < t) {
      moveSighting(layout, aggregate, 'merchants', priorMerchant, t, last);
      state.places = setPlace(state.places, merchant, minute);
    }
    if (terminal !== undefined && priorTerminal < t) {
      moveSighting(layout, aggregate, 'terminals', priorTerminal, t, last);
      state.places = setPlace(state.places, terminal, minute);
    }
    if (country !== undefined && priorCountry < t) {
      moveSighting(layout, aggregate, 'countries', priorCountry, t, last);
      state.places = setPlace(state.places, country, minute);
    }
    if (mcc !== undefined && priorMcc < t) state.places = setPlace(state.places, mcc, minute);
    state.references.set(event.fingerprintKey, { minute, label: NO_LABEL, terminalId: event.terminalId ?? '', merchantId: event.merchantId ?? '' });
    // A card without aggregates has nothing older to drop yet.
    if (lastBefore !== NO_TIME && Math.floor(last / PRUNE_PERIOD_MS) > Math.floor(lastBefore / PRUNE_PERIOD_MS)) {
      state.places = prunePlaces(state.places, last - params.horizonMs);
      for (const [id, reference] of state.references) {
        if (reference.minute * MINUTE_MS < last - params.horizonMs) state.references.delete(id);
      }
    }
    state.aggregate = aggregate;
  }

  // A place this transaction counted was last seen in its minute; otherwise when it was seen before.
  const applied = code === ReturnCode.Applied;
  const thisMinute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
  const firstSeenBefore = t - params.horizonMs;
  return {
    code,
    aggregate: state.aggregate,
    merchantLastSeenMs: merchant === undefined ? NO_TIME : applied && priorMerchant < t ? thisMinute : priorMerchant,
    terminalLastSeenMs: terminal === undefined ? NO_TIME : applied && priorTerminal < t ? thisMinute : priorTerminal,
    countryLastSeenMs: country === undefined ? NO_TIME : applied && priorCountry < t ? thisMinute : priorCountry,
    firstCountry: country !== undefined && priorCountry < firstSeenBefore,
    firstMcc: mcc !== undefined && priorMcc < firstSeenBefore,
    firstMerchant: merchant !== undefined && priorMerchant < firstSeenBefore,
  };
}

/** Twin of lua/includes/updateEntityAt.lua (updateBatch-n.lua) for one transaction. */
export function applyEntityEvent(layout: Layout, state: EntityState, event: EntityEvent, params: UpdateParams): EntityUpdate {
  const t = event.eventTimeMs;
  const keepsCards = layout.cardsHorizonMs > 0;
  const lastBefore = state.aggregate === null ? NO_TIME : lastOf(state.aggregate);
  const priorCard = keepsCards ? (state.cards.score(event.cardFingerprint, lastBefore - layout.cardsHorizonMs) ?? NO_TIME) : NO_TIME;

  let code: UpdateCode;
  let cardLastSeenMs = priorCard;
  const fingerprint = event.fingerprintKey;
  if (state.seen.score(fingerprint, lastBefore - params.allowedLatenessMs) !== undefined) code = ReturnCode.Duplicate;
  else if (state.aggregate !== null && t < lastBefore - params.allowedLatenessMs) code = ReturnCode.TooOld;
  else {
    code = ReturnCode.Applied;
    const aggregate = state.aggregate ?? emptyAggregate(layout);
    const last = advance(layout, aggregate, t);
    addToTiers(layout, aggregate, t, last, 'count', 1);
    addToTiers(layout, aggregate, t, last, 'amount', event.amount);
    addToTiers(layout, aggregate, t, last, 'sumsq', event.amount * event.amount);
    if (keepsCards && priorCard < t) {
      moveSighting(layout, aggregate, 'cards', priorCard, t, last);
      state.cards.set(event.cardFingerprint, t, last - layout.cardsHorizonMs);
      cardLastSeenMs = t;
    }
    state.seen.set(fingerprint, t, last - params.allowedLatenessMs);
    state.aggregate = aggregate;
  }
  return { code, aggregate: state.aggregate, cardLastSeenMs };
}

/** Twin of lua/recordCardLabel-2.lua. */
export function recordCardLabel(layout: Layout, state: CardState, transactionId: string, label: 'fraud' | 'genuine', horizonMs: number): CardLabelUpdate {
  const reference = state.references.get(transactionFingerprint(transactionId).toString('latin1'));
  if (reference === undefined) return { code: ReturnCode.LabelUnknownTransaction };
  if (state.aggregate !== null && reference.minute * MINUTE_MS < readHeader(layout, state.aggregate, 'last') - horizonMs) {
    return { code: ReturnCode.LabelUnknownTransaction };
  }
  const value = LABEL_CODE[label];
  let code: LabelCode;
  if (reference.label === value) code = ReturnCode.LabelDuplicate;
  else {
    code = reference.label === NO_LABEL ? ReturnCode.LabelApplied : ReturnCode.LabelChanged;
    reference.label = value;
  }
  return {
    code,
    reference: { eventTimeMs: reference.minute * MINUTE_MS, terminalId: reference.terminalId, merchantId: reference.merchantId },
  };
}

/** Twin of lua/recordAcceptorLabel-2.lua. */
export function recordAcceptorLabel(
  layout: Layout,
  state: EntityState,
  transactionId: string,
  label: 'fraud' | 'genuine',
  eventTimeMs: number,
): LabelCode {
  if (state.aggregate === null) return ReturnCode.LabelUnknownTransaction;
  const value = LABEL_CODE[label];
  const previousScore = state.labels.get(transactionId);
  const previous = previousScore === undefined ? NO_LABEL : previousScore % 4;
  if (previous === value) return ReturnCode.LabelDuplicate;
  const days = tierOf(layout, 'days');
  const last = readHeader(layout, state.aggregate, 'last');
  const delta = (value === LABEL_CODE.fraud ? 1 : 0) - (previous === LABEL_CODE.fraud ? 1 : 0);
  const bucket = bucketOf(days, eventTimeMs);
  if (delta !== 0 && isLive(days, bucket, last)) addToLane(days, state.aggregate, bucket, laneIndexOf(days, 'fraud'), delta);
  state.labels.set(transactionId, Math.floor(eventTimeMs / MINUTE_MS) * 4 + value);
  const cutoff = Math.floor((last - spanOf(days)) / MINUTE_MS) * 4;
  for (const [id, score] of state.labels) if (score < cutoff) state.labels.delete(id);
  return previous === NO_LABEL ? ReturnCode.LabelApplied : ReturnCode.LabelChanged;
}
