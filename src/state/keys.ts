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

/**
 * A transaction alert as first published (src/alerts/redis-suppressor.ts), so a redelivery republishes it unchanged;
 * in the card's slot, beside its suppression record.
 */
export function alertMemoKey(prefix: string, cardToken: string, alertId: string): string {
  return `${tag(prefix, 'card', cardToken)}:alert:${alertId}`;
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

// ---- Compromise detection (src/compromise/redis-store.ts). Per-point keys share the point's hash tag, so one
// point's log, victims, finding and warned set live in one slot; the global sets have a tag each.

/** A point's visit log of one UTC day, and the rest of what detection keeps per point. */
export function compromisePointKeys(prefix: string, point: string) {
  const base = `${prefix}{cpp:${point}}`;
  return {
    visitsOfDay: (day: number) => `${base}:v:${day}`,
    victims: `${base}:victims`,
    frauds: `${base}:frauds`,
    finding: `${base}:finding`,
    warned: `${base}:warned`,
  };
}

/** A card's own visit log of one epoch (where it was: the points of a victim's look-back); in the card's slot. */
export function compromiseCardVisitsKey(prefix: string, cardToken: string, epoch: number): string {
  return `${tag(prefix, 'card', cardToken)}:cpp:${epoch}`;
}

/** Visitor id → card token for the cards seen in one epoch, by the id's first two hex digits (256 hashes an epoch). */
export function compromiseDirectoryKey(prefix: string, visitor: string, epoch: number): string {
  return `${prefix}{cpp:dir:${visitor.slice(0, 2)}}:${epoch}`;
}

/** Point hash → point key: the card logs name points by a 6-byte hash. */
export function compromisePointNamesKey(prefix: string, hash: string): string {
  return `${prefix}{cpp:names:${hash.slice(0, 2)}}`;
}

export function compromiseGlobalKeys(prefix: string) {
  return {
    /** HyperLogLog of the cards seen on a UTC day (one slot, so PFCOUNT can merge days). */
    activeOfDay: (day: number) => `${prefix}{cpp:active}:${day}`,
    /** Victim records by card token. */
    victims: `${prefix}{cpp:victims}`,
    /** Victims by first fraud time (score). */
    victimsByFirstFraud: `${prefix}{cpp:victims}:first`,
    /** Victim → the finding that explains it (point and p-value). */
    claims: `${prefix}{cpp:victims}:claims`,
    /** The exposures feed (a stream) every instance's ExposureIndex follows. */
    exposures: `${prefix}{cpp:exposures}`,
    /** Cards the service itself blocked, waiting for the detector (score: event time). */
    suspects: `${prefix}{cpp:suspects}`,
    /** Publications begun and not finished, by point (a hash, empty but for a crash mid-publication). */
    publishing: `${prefix}{cpp:publishing}`,
  };
}
