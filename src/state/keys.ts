/**
 * Every Redis key of the state, built here and nowhere else. All keys of one entity share the hash tag
 * `{<kind>:<id>}`, so each script call touches one Redis Cluster slot.
 */
import type { EntityKind, LinkedKind } from './entity-events';

export interface CardKeys {
  aggregates: string;
  places: string;
  references: string;
}

export interface EntityKeys {
  aggregates: string;
  /** Transaction ids seen within the allowed lateness and, for acceptors, devices and IPs, the cards seen. */
  seen: string;
  labels: string;
}

function tag(prefix: string, kind: EntityKind, id: string): string {
  return `${prefix}{${kind}:${id}}`;
}

export function cardKeys(prefix: string, cardToken: string): CardKeys {
  const base = tag(prefix, 'card', cardToken);
  return { aggregates: `${base}:agg`, places: `${base}:places`, references: `${base}:refs` };
}

export function entityKeys(prefix: string, kind: LinkedKind, id: string): EntityKeys {
  const base = tag(prefix, kind, id);
  return { aggregates: `${base}:agg`, seen: `${base}:seen`, labels: `${base}:labels` };
}

/** A card's alert-suppression record (src/alerts/redis-suppressor.ts); in the card's slot. */
export function alertSuppressionKey(prefix: string, cardToken: string): string {
  return `${tag(prefix, 'card', cardToken)}:alerted`;
}

/** A named list kept as a Redis set (src/rules/redis-lists.ts): the set analysts and compromise detection write. */
export function namedListKey(prefix: string, name: string): string {
  return `${prefix}list:${name}`;
}

/** A pattern matching every state key under a prefix (for tests and the benchmark to clean up). */
export function allKeysPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}{*`;
}

// ---- Redis Cluster slots (CRC16/XMODEM of the hash tag, as in the cluster specification) ----

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff];
  return crc;
}

/** The cluster slot of a key: only the part between the first `{` and the next `}` counts, when not empty. */
export function hashSlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key, 'utf8')) % 16384;
}
