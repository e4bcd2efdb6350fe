/**
 * One typed wrapper per script: each queues its command on a pipeline with keys and arguments in the order of the
 * script's header, and one parser per script turns the reply back into the types the twin returns.
 */
import type { ChainableCommander } from 'ioredis';
import { LABEL_CODE, ReturnCode } from './codes';
import { transactionFingerprint, type CardEvent, type EntityEvent } from './entity-events';
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
 * wrote (scripts never build whole aggregates: that is the costly part of a script). Null while there is none.
 */
function aggregatesAfterEach(layout: Layout, read: unknown, entries: readonly unknown[][]): Array<Buffer | null> {
  let current: Buffer | null = Buffer.isBuffer(read) && read.length > 0 ? Buffer.from(read) : null;
  return entries.map((entry) => {
    const patches = entry[1] as Array<number | Buffer>;
    if (patches.length > 0) {
      current = current === null ? Buffer.alloc(layout.size) : Buffer.from(current);
      for (let i = 0; i < patches.length; i += 2) (patches[i + 1] as Buffer).copy(current, patches[i] as number);
    }
    return current;
  });
}

// ---- updateCard-3.lua ----

export function queueUpdateCard(
  pipeline: ChainableCommander,
  names: CommandNames,
  keys: CardKeys,
  args: { allowedLatenessMs: number; horizonMs: number; ttlMs: number },
  events: readonly CardEvent[],
): void {
  const argv: Array<string | number | Buffer> = [keys.aggregates, keys.places, keys.references, args.allowedLatenessMs, args.horizonMs, args.ttlMs, events.length];
  for (const e of events) {
    argv.push(
      e.fingerprint,
      e.eventTimeMs,
      String(e.amount),
      e.declined ? 1 : 0,
      e.small ? 1 : 0,
      e.merchantId ?? '',
      e.terminalId ?? '',
      e.places.merchant ?? '',
      e.places.terminal ?? '',
      e.places.country ?? '',
      e.places.mcc ?? '',
      e.position === undefined ? '' : String(e.position.latitude),
      e.position === undefined ? '' : String(e.position.longitude),
    );
  }
  command(pipeline, names.updateCard)(...argv);
}

export function parseUpdateCard(reply: unknown): CardUpdate[] | LayoutMismatch {
  if (isMismatch(reply)) return new LayoutMismatch('updateCard');
  const [read, ...entries] = reply as [unknown, ...unknown[][]];
  const aggregates = aggregatesAfterEach(LAYOUTS.card, read, entries);
  return entries.map((entry, i) => ({
    code: entry[0] as UpdateCode,
    aggregate: aggregates[i],
    merchantLastSeenMs: entry[2] as number,
    terminalLastSeenMs: entry[3] as number,
    countryLastSeenMs: entry[4] as number,
    firstCountry: entry[5] === 1,
    firstMcc: entry[6] === 1,
    firstMerchant: entry[7] === 1,
  }));
}

// ---- updateEntity-3.lua ----

export function queueUpdateEntity(
  pipeline: ChainableCommander,
  names: CommandNames,
  keys: EntityKeys,
  args: { layout: LayoutName; allowedLatenessMs: number; ttlMs: number },
  events: readonly EntityEvent[],
): void {
  const argv: Array<string | number | Buffer> = [keys.aggregates, keys.seen, keys.cards, args.layout, args.allowedLatenessMs, args.ttlMs, events.length];
  for (const e of events) argv.push(e.fingerprint, e.eventTimeMs, String(e.amount), e.cardFingerprint);
  command(pipeline, names.updateEntity)(...argv);
}

export function parseUpdateEntity(layout: LayoutName, reply: unknown): EntityUpdate[] | LayoutMismatch {
  if (isMismatch(reply)) return new LayoutMismatch('updateEntity');
  const [read, ...entries] = reply as [unknown, ...unknown[][]];
  const aggregates = aggregatesAfterEach(LAYOUTS[layout], read, entries);
  return entries.map((entry, i) => ({
    code: entry[0] as UpdateCode,
    aggregate: aggregates[i],
    cardLastSeenMs: entry[2] as number,
  }));
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
