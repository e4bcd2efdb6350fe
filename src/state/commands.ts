/**
 * One typed wrapper per script: each sends its command with keys and arguments in the order of the script's header
 * and returns the reply's promise, and one parser per script turns the reply back into the types the twin returns.
 */
import type { Cluster, Redis } from 'ioredis';
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

type Send = (...args: Array<string | number | Buffer>) => Promise<unknown>;

function command(client: Redis | Cluster, name: string): Send {
  const send = (client as unknown as Record<string, Send | undefined>)[`${name}Buffer`];
  if (send === undefined) throw new Error(`state command ${name} is not defined on this client`);
  return send.bind(client);
}

/** A reply the scripts return when the stored state has another layout: the caller raises a non-retriable error. */
export class LayoutMismatch {
  constructor(readonly script: string) {}
}

/** An updateBatch reply (its chunks joined: updateBatch-n.lua) and how far it has been read, entity by entity. */
export class UpdateBatchReply {
  offset = 0;
  constructor(readonly bytes: Buffer) {}
}

/**
 * Reads one entity's part of an updateBatch reply: rebuilds its aggregates after each transaction from the aggregates
 * the script read and the byte patches it wrote (scripts never build whole aggregates per transaction: that is the
 * costly part of a script), and hands each state to `visit` before the next transaction's patches overwrite it: one
 * buffer per entity, patched in place (the reply's own bytes: nobody else holds them), instead of a copy per
 * transaction. A call of one applied transaction replies with the whole aggregate instead. Null while there is none.
 * `visit` reads the transaction's tail at `at` and returns where it ends. False when the stored layout differs.
 */
function eachAggregate(layout: Layout, reply: UpdateBatchReply, visit: (aggregate: Buffer | null, code: UpdateCode, at: number, e: number) => number): boolean {
  const bytes = reply.bytes;
  let at = reply.offset;
  if (bytes[at] === 1) {
    reply.offset = at + 1;
    return false;
  }
  const count = bytes.readUInt16LE(at + 1);
  const readLength = bytes.readUInt32LE(at + 3);
  at += 7;
  let current: Buffer | null = readLength > 0 ? bytes.subarray(at, at + readLength) : null;
  at += readLength;
  for (let e = 0; e < count; e++) {
    const code = bytes[at] as UpdateCode;
    if (bytes[at + 1] === 1) {
      const length = bytes.readUInt32LE(at + 2);
      at += 6;
      current = bytes.subarray(at, at + length);
      at += length;
    } else {
      const patches = bytes.readUInt16LE(at + 2);
      at += 4;
      if (patches > 0 && current === null) current = Buffer.alloc(layout.size);
      for (let p = 0; p < patches; p++) {
        const offset = bytes.readUInt16LE(at);
        const end = at + 4 + bytes.readUInt16LE(at + 2);
        bytes.copy(current as Buffer, offset, at + 4, end);
        at = end;
      }
    }
    at = visit(current, code, at, e);
  }
  reply.offset = at;
  return true;
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

/** Card flags in a reply: which of the card's places the transaction is the first sighting of. */
const FIRST_COUNTRY = 1;
const FIRST_MCC = 2;
const FIRST_MERCHANT = 4;

/**
 * Reads the next entity of the reply, a card, and hands each transaction's update to `visit`, in order. The update
 * object and its aggregate are reused: valid only during the call (features are computed there).
 */
export function visitUpdateCard(reply: UpdateBatchReply, visit: (update: CardUpdate, e: number) => void): LayoutMismatch | undefined {
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
  const bytes = reply.bytes;
  const fits = eachAggregate(LAYOUTS.card, reply, (aggregate, code, at, e) => {
    update.code = code;
    update.aggregate = aggregate;
    update.merchantLastSeenMs = bytes.readDoubleLE(at);
    update.terminalLastSeenMs = bytes.readDoubleLE(at + 8);
    update.countryLastSeenMs = bytes.readDoubleLE(at + 16);
    const flags = bytes[at + 24];
    update.firstCountry = (flags & FIRST_COUNTRY) !== 0;
    update.firstMcc = (flags & FIRST_MCC) !== 0;
    update.firstMerchant = (flags & FIRST_MERCHANT) !== 0;
    visit(update, e);
    return at + 25;
  });
  return fits ? undefined : new LayoutMismatch('updateBatch (a card)');
}

/** Reads the next entity of the reply, not a card, and hands each transaction's update to `visit`, in order (reused object: see visitUpdateCard). */
export function visitUpdateEntity(layout: LayoutName, reply: UpdateBatchReply, visit: (update: EntityUpdate, e: number) => void): LayoutMismatch | undefined {
  const update: EntityUpdate = { code: ReturnCode.Applied, aggregate: null, cardLastSeenMs: 0 };
  const bytes = reply.bytes;
  const fits = eachAggregate(LAYOUTS[layout], reply, (aggregate, code, at, e) => {
    update.code = code;
    update.aggregate = aggregate;
    update.cardLastSeenMs = bytes.readDoubleLE(at);
    visit(update, e);
    return at + 8;
  });
  return fits ? undefined : new LayoutMismatch('updateBatch (an account, terminal, merchant, device or IP)');
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

/** Sends one updateBatch call for these entities (on a cluster, all of them in one slot). */
export function sendUpdateBatch(client: Redis | Cluster, names: CommandNames, params: BatchParams, entities: readonly BatchEntity[]): Promise<unknown> {
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
  return command(client, names.updateBatch)(keys.length, ...keys, ...argv);
}

/** The reply of updateBatch-n.lua, to read entity by entity in call order with visitUpdateCard / visitUpdateEntity. */
export function readUpdateBatch(reply: unknown): UpdateBatchReply {
  if (!Array.isArray(reply) || !reply.every((chunk) => Buffer.isBuffer(chunk))) {
    throw new Error('updateBatch replied with something other than its binary chunks');
  }
  const chunks = reply as Buffer[];
  return new UpdateBatchReply(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
}

// ---- recordCardLabel-2.lua ----

export function sendRecordCardLabel(
  client: Redis | Cluster,
  names: CommandNames,
  keys: CardKeys,
  args: { transactionId: string; label: 'fraud' | 'genuine'; horizonMs: number },
): Promise<unknown> {
  return command(client, names.recordCardLabel)(keys.aggregates, keys.references, transactionFingerprint(args.transactionId), LABEL_CODE[args.label], args.horizonMs);
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

export function sendRecordAcceptorLabel(
  client: Redis | Cluster,
  names: CommandNames,
  keys: EntityKeys,
  args: { transactionId: string; label: 'fraud' | 'genuine'; eventTimeMs: number; ttlMs: number },
): Promise<unknown> {
  return command(client, names.recordAcceptorLabel)(keys.aggregates, keys.labels, args.transactionId, LABEL_CODE[args.label], args.eventTimeMs, args.ttlMs);
}

export function parseRecordAcceptorLabel(reply: unknown): LabelCode | LayoutMismatch {
  if (reply === ReturnCode.StateLayoutMismatch) return new LayoutMismatch('recordAcceptorLabel');
  return reply as LabelCode;
}
