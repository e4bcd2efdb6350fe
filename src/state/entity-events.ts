/**
 * What each entity's update needs from a transaction. Both stores build their updates here, so the Lua arguments
 * and the in-memory twin see identical inputs.
 */
import { hash } from 'node:crypto';
import type { CardTransaction } from '../contract/transaction';
import type { LayoutName } from './layout';
import type { StateOptions } from './options';

/** Entities a transaction updates besides its card; also the order of their features. */
export const LINKED_KINDS = ['account', 'terminal', 'merchant', 'device', 'ip'] as const;
export type LinkedKind = (typeof LINKED_KINDS)[number];
export type EntityKind = 'card' | LinkedKind;

export const LAYOUT_OF: Readonly<Record<LinkedKind, LayoutName>> = {
  account: 'account',
  terminal: 'acceptor',
  merchant: 'acceptor',
  device: 'client',
  ip: 'client',
};

export const PLACE_KINDS = ['merchant', 'terminal', 'country', 'mcc'] as const;
export type PlaceKind = (typeof PLACE_KINDS)[number];

export interface CardEvent {
  transactionId: string;
  /** Identifies the transaction in references and deduplication sets (8 bytes instead of the id). */
  fingerprint: Buffer;
  /** The fingerprint's bytes as a latin1 string: the in-memory twin's map key, made once per transaction. */
  fingerprintKey: string;
  eventTimeMs: number;
  amount: number;
  declined: boolean;
  small: boolean;
  merchantId?: string;
  terminalId?: string;
  /** 4-byte hashes of the places this transaction happened at, for first-seen and distinct counts. */
  places: Partial<Record<PlaceKind, Buffer>>;
  /** Only for card-present transactions with coordinates. */
  position?: { latitude: number; longitude: number };
}

/**
 * FNV-1a (32 bits) of "kind:id": a card sees a few dozen places a month, so a collision is a one-in-a-million
 * event per card, and 4 bytes instead of the id keep the card's state under 2 KB.
 */
export function placeHash(kind: PlaceKind, id: string): Buffer {
  let hash = FNV_OF_KIND[kind];
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    // An id in ASCII is its own UTF-8 bytes (hashed from the string, no Buffer per place); any other, from its bytes.
    if (code >= 0x80) return fnvOfBytes(`${kind}:${id}`);
    hash = Math.imul(hash ^ code, 0x01000193) >>> 0;
  }
  return hashBuffer(hash);
}

function fnvOfBytes(text: string): Buffer {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hashBuffer(hash);
}

function hashBuffer(hash: number): Buffer {
  const out = Buffer.allocUnsafe(4); // from the shared pool: a small Buffer.alloc costs an ArrayBuffer each
  out.writeUInt32LE(hash, 0);
  return out;
}

/** FNV-1a of "kind:" for each kind, where every place's hash starts. */
const FNV_OF_KIND = Object.fromEntries(
  PLACE_KINDS.map((kind) => {
    let hash = 0x811c9dc5;
    for (const byte of Buffer.from(`${kind}:`, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    return [kind, hash];
  }),
) as Record<PlaceKind, number>;

/**
 * How the scripts receive an event: one packed string per transaction (Lua `struct` format) instead of a dozen
 * arguments, which the client encodes and the script parses one by one. Amounts, times and coordinates travel as
 * doubles, exactly as given.
 */
export const CARD_EVENT_FORMAT = '<c8ddBc4c4c4c4dd';
export const CARD_EVENT_BYTES = 8 + 8 + 8 + 1 + 4 * 4 + 8 + 8;
export const CARD_EVENT_FLAGS = { declined: 1, small: 2, merchant: 4, terminal: 8, country: 16, mcc: 32, position: 64 } as const;
export const ENTITY_EVENT_FORMAT = '<c8dd';
export const ENTITY_EVENT_BYTES = 8 + 8 + 8;

export interface EntityEvent {
  transactionId: string;
  fingerprint: Buffer;
  fingerprintKey: string;
  eventTimeMs: number;
  amount: number;
  /** Identifies the card in distinct-card counters; a prefix of the token is plenty and halves the memory. */
  cardFingerprint: string;
}

/**
 * 8 bytes of MD5 of the transaction id. State keeps a card's transactions for 30 days: 8 bytes instead of a
 * 36-character id save a third of that memory, and a collision within one card or one acceptor (a few hundred
 * to a few hundred thousand ids) is a ~1e-9 event.
 */
export function transactionFingerprint(transactionId: string): Buffer {
  return hash('md5', transactionId, 'buffer').subarray(0, 8); // one-shot: no Hash object per transaction
}

/** Card present when the message says so; when it does not, POS and ATM transactions are. */
export function isCardPresent(txn: CardTransaction): boolean {
  return txn.cardPresent ?? (txn.channel === 'pos' || txn.channel === 'atm');
}

export function cardEventOf(txn: CardTransaction, options: Pick<StateOptions, 'smallAmountLimit'>): CardEvent {
  const fingerprint = transactionFingerprint(txn.transactionId);
  const event: CardEvent = {
    transactionId: txn.transactionId,
    fingerprint,
    fingerprintKey: fingerprint.toString('latin1'),
    eventTimeMs: txn.eventTimeMs,
    amount: txn.amount,
    declined: !txn.approved,
    small: txn.amount <= options.smallAmountLimit,
    places: {},
  };
  if (txn.merchantId !== undefined) {
    event.merchantId = txn.merchantId;
    event.places.merchant = placeHash('merchant', txn.merchantId);
  }
  if (txn.terminalId !== undefined) {
    event.terminalId = txn.terminalId;
    event.places.terminal = placeHash('terminal', txn.terminalId);
  }
  if (txn.country !== undefined) event.places.country = placeHash('country', txn.country);
  if (txn.mcc !== undefined) event.places.mcc = placeHash('mcc', txn.mcc);
  if (txn.latitude !== undefined && txn.longitude !== undefined && isCardPresent(txn)) {
    event.position = { latitude: txn.latitude, longitude: txn.longitude };
  }
  return event;
}

export function cardFingerprint(cardToken: string): string {
  return cardToken.slice(0, 16);
}

/** From the card event's fingerprint, when there is one (hashing once per transaction). */
export function entityEventOf(txn: CardTransaction, card?: Pick<CardEvent, 'fingerprint' | 'fingerprintKey'>): EntityEvent {
  const fingerprint = card?.fingerprint ?? transactionFingerprint(txn.transactionId);
  return {
    transactionId: txn.transactionId,
    fingerprint,
    fingerprintKey: card?.fingerprintKey ?? fingerprint.toString('latin1'),
    eventTimeMs: txn.eventTimeMs,
    amount: txn.amount,
    cardFingerprint: cardFingerprint(txn.cardToken),
  };
}

export function linkedIdOf(txn: CardTransaction, kind: LinkedKind): string | undefined {
  switch (kind) {
    case 'account':
      return txn.accountId;
    case 'terminal':
      return txn.terminalId;
    case 'merchant':
      return txn.merchantId;
    case 'device':
      return txn.deviceId;
    case 'ip':
      return txn.ip;
  }
}
