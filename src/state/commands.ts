/**
 * One typed wrapper per script: each queues its command on a pipeline with keys and arguments in the order of the
 * script's header, and one parser per script turns the reply back into the types the twin returns.
 */
import type { ChainableCommander } from 'ioredis';
import { LABEL_CODE, ReturnCode } from './codes';
import {
  CARD_EVENT_BYTES,
  CARD_EVENT_FLAGS,
  ENTITY_EVENT_BYTES,
  transactionFingerprint,
  type CardEvent,
  type EntityEvent,
} from './entity-events';
import { LAYOUTS, type Layout, type LayoutName } from './layout';
import type { CommandNames } from './scripts';
import type { CardKeys, EntityKeys } from './keys';
import type { CardLabelUpdate, CardUpdate, EntityUpdate, LabelCode, UpdateCode } from './twin';

type Queue = (...args: Array<string | number | Buffer>) => unknown;

function command(pipeline: ChainableCommander, name: string): Queue {
  const queue = (pipeline as unknown as Record<string, Queue | undefined>)[`${name}Buffer`];
  if (queue === undefined) throw new Error(`state command ${name} is not defined on this client`);
  return queue.bind(pipeline);
}

/** A reply the scripts return when the stored state has another layout: the caller raises a non-retriable error. */
export class LayoutMismatch {
  constructor(readonly script: string) {}
}

function isMismatch(reply: unknown): boolean {
  return Array.isArray(reply) && reply.length === 1 && reply[0] === ReturnCode.StateLayoutMismatch;
}

/**
 * Rebuilds the aggregates after each transaction from the aggregates the script read and the byte patches it
 * wrote (scripts never build whole aggregates per transaction: that is the costly part of a script), and hands each
 * state to `visit` before the next transaction's patches overwrite it: one buffer per entity, patched in place (the
 * reply's own bytes: nobody else holds them), instead of a copy per transaction. A call of one applied transaction
 * replies with the whole aggregate instead. Null while there is none.
 */
function eachAggregate(layout: Layout, reply: readonly unknown[], visit: (aggregate: Buffer | null, entry: unknown[], e: number) => void): void {
  // reply[0]: the aggregates as read; reply[1 + e]: transaction e's entry (indexed, not spread: no copy per entity).
  const read = reply[0];
  let current: Buffer | null = Buffer.isBuffer(read) && read.length > 0 ? read : null;
  for (let e = 0; e + 1 < reply.length; e++) {
    const entry = reply[e + 1] as unknown[];
    const change = entry[1];
    if (Buffer.isBuffer(change)) current = change;
    else {
      const patches = change as Array<number | Buffer>;
      if (patches.length > 0) {
        if (current === null) current = Buffer.alloc(layout.size);
        for (let i = 0; i < patches.length; i += 2) (patches[i + 1] as Buffer).copy(current, patches[i] as number);
      }
    }
    visit(current, entry, e);
  }
}

// ---- updateBatch-n.lua ----

/**
 * A card event as the script reads it: CARD_EVENT_FORMAT, then the tail of its reference (#terminalId as '<H',
 * terminalId, merchantId), which the script stores after the minute and label. One argument per transaction: the
 * client encodes and Redis parses every argument one by one, and that cost dominated the calls.
 */
function packCardEvent(e: CardEvent): Buffer {
  const terminalId = e.terminalId ?? '';
  const merchantId = e.merchantId ?? '';
  const terminalBytes = Buffer.byteLength(terminalId);
  const packed = Buffer.allocUnsafe(CARD_EVENT_BYTES + 2 + terminalBytes + Buffer.byteLength(merchantId)).fill(0, 0, CARD_EVENT_BYTES); // pooled
  e.fingerprint.copy(packed, 0, 0, 8);
  packed.writeDoubleLE(e.eventTimeMs, 8);
  packed.writeDoubleLE(e.amount, 16);
  let flags = (e.declined ? CARD_EVENT_FLAGS.declined : 0) | (e.small ? CARD_EVENT_FLAGS.small : 0);
  const { merchant, terminal, country, mcc } = e.places;
  if (merchant !== undefined) (flags |= CARD_EVENT_FLAGS.merchant), merchant.copy(packed, 25);
  if (terminal !== undefined) (flags |= CARD_EVENT_FLAGS.terminal), terminal.copy(packed, 29);
  if (country !== undefined) (flags |= CARD_EVENT_FLAGS.country), country.copy(packed, 33);
  if (mcc !== undefined) (flags |= CARD_EVENT_FLAGS.mcc), mcc.copy(packed, 37);
  if (e.position !== undefined) {
    flags |= CARD_EVENT_FLAGS.position;
    packed.writeDoubleLE(e.position.latitude, 41);
    packed.writeDoubleLE(e.position.longitude, 49);
  }
  packed.writeUInt8(flags, 24);
  packed.writeUInt16LE(terminalBytes, CARD_EVENT_BYTES);
  packed.write(terminalId, CARD_EVENT_BYTES + 2, 'utf8');
  packed.write(merchantId, CARD_EVENT_BYTES + 2 + terminalBytes, 'utf8');
  return packed;
}

/** An entity event as the script reads it: ENTITY_EVENT_FORMAT, then the card fingerprint. */
function packEntityEvent(e: EntityEvent): Buffer {
  const packed = Buffer.allocUnsafe(ENTITY_EVENT_BYTES + Buffer.byteLength(e.cardFingerprint));
  e.fingerprint.copy(packed, 0, 0, 8);
  packed.writeDoubleLE(e.eventTimeMs, 8);
  packed.writeDoubleLE(e.amount, 16);
  packed.write(e.cardFingerprint, ENTITY_EVENT_BYTES, 'utf8');
  return packed;
}

/**
 * Hands each transaction's card update to `visit`, in order. The update object and its aggregate are reused: valid
 * only during the call (features are computed there).
 */
export function visitUpdateCard(reply: unknown, visit: (update: CardUpdate, e: number) => void): LayoutMismatch | undefined {
  if (isMismatch(reply)) return new LayoutMismatch('updateBatch (a card)');
  const update: CardUpdate = {
    code: ReturnCode.Applied,
    aggregate: null,
    merchantLastSeenMs: 0,
    terminalLastSeenMs: 0,
    countryLastSeenMs: 0,
    firstCountry: false,
    firstMcc: false,
    firstMerchant: false,
  };
  eachAggregate(LAYOUTS.card, reply as unknown[], (aggregate, entry, e) => {
    update.code = entry[0] as UpdateCode;
    update.aggregate = aggregate;
    update.merchantLastSeenMs = entry[2] as number;
    update.terminalLastSeenMs = entry[3] as number;
    update.countryLastSeenMs = entry[4] as number;
    update.firstCountry = entry[5] === 1;
    update.firstMcc = entry[6] === 1;
    update.firstMerchant = entry[7] === 1;
    visit(update, e);
  });
  return undefined;
}

/** Hands each transaction's entity update to `visit`, in order (reused object: see visitUpdateCard). */
export function visitUpdateEntity(layout: LayoutName, reply: unknown, visit: (update: EntityUpdate, e: number) => void): LayoutMismatch | undefined {
  if (isMismatch(reply)) return new LayoutMismatch('updateBatch (an account, terminal, merchant, device or IP)');
  const update: EntityUpdate = { code: ReturnCode.Applied, aggregate: null, cardLastSeenMs: 0 };
  eachAggregate(LAYOUTS[layout], reply as unknown[], (aggregate, entry, e) => {
    update.code = entry[0] as UpdateCode;
    update.aggregate = aggregate;
    update.cardLastSeenMs = entry[2] as number;
    visit(update, e);
  });
  return undefined;
}

/** One entity's part of an updateBatch call. */
export type BatchEntity =
  | { kind: 'card'; keys: CardKeys; events: readonly CardEvent[] }
  | { kind: 'entity'; layout: LayoutName; keys: EntityKeys; events: readonly EntityEvent[] };

/** What every entity of an updateBatch call shares: sent once per call. */
export interface BatchParams {
  allowedLatenessMs: number;
  horizonMs: number;
  ttlMs: number;
}

/** Queues one updateBatch call for these entities (on a cluster, all of them in one slot). */
export function queueUpdateBatch(pipeline: ChainableCommander, names: CommandNames, params: BatchParams, entities: readonly BatchEntity[]): void {
  const keys: string[] = [];
  const argv: Array<string | number | Buffer> = [params.allowedLatenessMs, params.horizonMs, params.ttlMs];
  for (const entity of entities) {
    if (entity.kind === 'card') {
      const { keys: k, events } = entity;
      keys.push(k.aggregates, k.places, k.references);
      argv.push('card', events.length);
      for (const e of events) argv.push(packCardEvent(e));
    } else {
      const { keys: k, events } = entity;
      keys.push(k.aggregates, k.seen);
      argv.push(entity.layout, events.length);
      for (const e of events) argv.push(packEntityEvent(e));
    }
  }
  command(pipeline, names.updateBatch)(keys.length, ...keys, ...argv);
}

/** The reply of updateBatch-n.lua: one entry per entity, in call order (visitUpdateCard / visitUpdateEntity read them). */
export function parseUpdateBatch(reply: unknown): unknown[] {
  return reply as unknown[];
}

// ---- recordCardLabel-2.lua ----

export function queueRecordCardLabel(
  pipeline: ChainableCommander,
  names: CommandNames,
  keys: CardKeys,
  args: { transactionId: string; label: 'fraud' | 'genuine'; horizonMs: number },
): void {
  command(pipeline, names.recordCardLabel)(keys.aggregates, keys.references, transactionFingerprint(args.transactionId), LABEL_CODE[args.label], args.horizonMs);
}

export function parseRecordCardLabel(reply: unknown): CardLabelUpdate {
  const entry = reply as [LabelCode, number?, Buffer?, Buffer?];
  if (entry[0] === ReturnCode.LabelUnknownTransaction) return { code: entry[0] };
  return {
    code: entry[0],
    reference: {
      eventTimeMs: entry[1] as number,
      terminalId: (entry[2] as Buffer).toString('utf8'),
      merchantId: (entry[3] as Buffer).toString('utf8'),
    },
  };
}

// ---- recordAcceptorLabel-2.lua ----

export function queueRecordAcceptorLabel(
  pipeline: ChainableCommander,
  names: CommandNames,
  keys: EntityKeys,
  args: { transactionId: string; label: 'fraud' | 'genuine'; eventTimeMs: number; ttlMs: number },
): void {
  command(pipeline, names.recordAcceptorLabel)(keys.aggregates, keys.labels, args.transactionId, LABEL_CODE[args.label], args.eventTimeMs, args.ttlMs);
}

export function parseRecordAcceptorLabel(reply: unknown): LabelCode | LayoutMismatch {
  if (reply === ReturnCode.StateLayoutMismatch) return new LayoutMismatch('recordAcceptorLabel');
  return reply as LabelCode;
}
