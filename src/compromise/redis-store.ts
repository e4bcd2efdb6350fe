/**
 * Compromise state in Redis, shared by every instance, with native commands only (no scripts: every write is an
 * append, a set or hash member, or a HyperLogLog add, all idempotent or deduplicated on read). Cluster-safe: the
 * keys of one point share its hash tag, a card's log sits in the card's slot, and the global keys each have their
 * own tag; commands are sent one by one (ioredis pipelines them on the connection) so each goes to its own slot.
 *
 * Sizes (what `npm run bench:compromise -- --redis` measures): a visit costs 12 bytes in the point's day log for its
 * terminal and 12 for its merchant (8-byte visitor id + 4-byte minute) and 16 in the card's 28-day log (minute +
 * 6-byte hashes of terminal and merchant); a card costs one directory entry per 28-day epoch it is active in, and
 * every log is a key of its own (Redis's ~90 bytes of overhead a key are most of the cost for quiet cards).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import type { CardTransaction } from '../contract/transaction';
import { toStateError } from '../state/redis-errors';
import {
  hashSlot,
  compromiseCardVisitsKey,
  compromiseDirectoryKey,
  compromiseGlobalKeys,
  compromisePointKeys,
  compromisePointNamesKey,
  namedListKey,
} from '../state/keys';
import type { Telemetry } from '../telemetry/events';
import {
  DAY_MS,
  MINUTE_MS,
  dayOf,
  pointsOf,
  visitorId,
  type CardVisits,
  type CompromiseStore,
  type Exposure,
  type FindingState,
  type PointFraud,
  type PointKey,
  type PointVictim,
  type Publication,
  type VictimRecord,
  type Visit,
} from './store';

export interface RedisCompromiseStoreOptions {
  keyPrefix: string;
  /** Visits and victims are kept this long (event time for logs, wall time for the feed). */
  retentionMs: number;
  telemetry?: Telemetry;
}

const EPOCH_MS = 28 * DAY_MS;
const CARD_LOG_EPOCH_MS = 28 * DAY_MS;
const POINT_ENTRY_BYTES = 12;
const CARD_ENTRY_BYTES = 16;
const NO_POINT = Buffer.alloc(6);
/** Names and directory entries this process has written, so each is written once (bounded: cleared when full). */
const MAX_REMEMBERED = 1_000_000;

/** 6-byte hash of a point key: the card log's name for it (collisions are a one-in-10^8 event among a million points). */
const pointHashes = new Map<PointKey, Buffer>();
function pointHash(point: PointKey): Buffer {
  let hash = pointHashes.get(point);
  if (hash === undefined) {
    if (pointHashes.size >= MAX_REMEMBERED) pointHashes.clear();
    hash = createHash('md5').update(point).digest().subarray(0, 6);
    pointHashes.set(point, hash);
  }
  return hash;
}

class WrittenOnce {
  private readonly seen = new Set<string>();

  /** True the first time (until the memory is full and forgotten). */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
    this.seen.add(key);
    return true;
  }
}

/** Versioned, so two deployed versions never run each other's script. */
const APPEND_VISITS = 'cardShieldAppendVisits1';
/** Logs per script call: a few ms of script time at most, so other clients are not held up. */
const LOGS_PER_CALL = 2000;

type AppendVisits = (numberOfKeys: number, ...args: Array<string | Buffer | number>) => Promise<number>;

function isCluster(redis: Redis | Cluster): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

export function createRedisCompromiseStore(redis: Redis | Cluster, options: RedisCompromiseStoreOptions): CompromiseStore {
  const prefix = options.keyPrefix;
  if (!(APPEND_VISITS in redis)) {
    // Beside this module: src/compromise/lua in development, dist/src/compromise/lua after `npm run build`.
    redis.defineCommand(APPEND_VISITS, { lua: readFileSync(join(__dirname, 'lua', 'appendVisits-n.lua'), 'utf8') });
  }
  const appendVisits = (redis as unknown as Record<string, AppendVisits>)[APPEND_VISITS].bind(redis);
  const global = compromiseGlobalKeys(prefix);
  const names = new WrittenOnce();
  const directory = new WrittenOnce();
  const retention = options.retentionMs;
  /** Keys of a point live as long as the retention after their last write. */
  const pointTtlMs = retention + 7 * DAY_MS;

  async function guarded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const failure = toStateError(`compromise ${operation}`, error);
      options.telemetry?.emit('state.error', { operation: `compromise.${operation}`, error: failure.message });
      throw failure;
    }
  }

  function decodePointLog(buffer: Buffer | null, into: Visit[], fromMs: number, untilMs: number): void {
    if (buffer === null) return;
    for (let at = 0; at + POINT_ENTRY_BYTES <= buffer.length; at += POINT_ENTRY_BYTES) {
      const atMs = buffer.readUInt32LE(at + 8) * MINUTE_MS;
      if (atMs >= fromMs && atMs < untilMs) into.push({ card: buffer.toString('hex', at, at + 8), atMs });
    }
  }

  const store: CompromiseStore = {
    async recordVisits(txns: readonly CardTransaction[]) {
      if (txns.length === 0) return;
      const pointDays = new Map<string, { key: string; day: number; parts: Buffer[] }>();
      const cardLogs = new Map<string, { key: string; epoch: number; parts: Buffer[] }>();
      const activeByDay = new Map<number, Set<string>>();
      const namesToWrite: Array<[string, string]> = [];
      const directoryToWrite: Array<[string, string, string]> = [];
      for (const txn of txns) {
        const visitor = visitorId(txn.cardToken);
        const minute = Math.floor(txn.eventTimeMs / MINUTE_MS);
        const day = dayOf(txn.eventTimeMs);
        const entry = Buffer.allocUnsafe(POINT_ENTRY_BYTES);
        entry.write(visitor, 0, 8, 'hex');
        entry.writeUInt32LE(minute, 8);
        const cardEntry = Buffer.alloc(CARD_ENTRY_BYTES);
        cardEntry.writeUInt32LE(minute, 0);
        for (const point of pointsOf(txn)) {
          const id = `${point}\u0000${day}`;
          let log = pointDays.get(id);
          if (log === undefined) pointDays.set(id, (log = { key: compromisePointKeys(prefix, point).visitsOfDay(day), day, parts: [] }));
          log.parts.push(entry);
          const hash = pointHash(point);
          hash.copy(cardEntry, point.startsWith('terminal:') ? 4 : 10);
          if (names.first(point)) namesToWrite.push([hash.toString('hex'), point]);
        }
        const epoch = Math.floor(txn.eventTimeMs / CARD_LOG_EPOCH_MS);
        const cardId = `${txn.cardToken}\u0000${epoch}`;
        let cardLog = cardLogs.get(cardId);
        if (cardLog === undefined) cardLogs.set(cardId, (cardLog = { key: compromiseCardVisitsKey(prefix, txn.cardToken, epoch), epoch, parts: [] }));
        cardLog.parts.push(cardEntry);
        let active = activeByDay.get(day);
        if (active === undefined) activeByDay.set(day, (active = new Set()));
        active.add(visitor);
        const dirEpoch = Math.floor(txn.eventTimeMs / EPOCH_MS);
        if (directory.first(`${visitor}${dirEpoch}`)) directoryToWrite.push([compromiseDirectoryKey(prefix, visitor, dirEpoch), visitor, txn.cardToken]);
      }
      // Every log of the chunk in as few script calls as possible (one per slot on a cluster): a command per log
      // costs the client more than Redis, and this runs beside every state round trip.
      const logs: Array<{ key: string; bytes: Buffer; expireAt: number }> = [];
      for (const log of pointDays.values()) logs.push({ key: log.key, bytes: Buffer.concat(log.parts), expireAt: (log.day + 1) * DAY_MS + retention });
      for (const log of cardLogs.values()) logs.push({ key: log.key, bytes: Buffer.concat(log.parts), expireAt: (log.epoch + 1) * CARD_LOG_EPOCH_MS + retention });
      const groups = new Map<number, typeof logs>();
      for (const log of logs) {
        const slot = isCluster(redis) ? hashSlot(log.key) : 0;
        const group = groups.get(slot);
        if (group === undefined) groups.set(slot, [log]);
        else group.push(log);
      }
      const commands: Array<Promise<unknown>> = [];
      for (const group of groups.values()) {
        for (let i = 0; i < group.length; i += LOGS_PER_CALL) {
          const part = group.slice(i, i + LOGS_PER_CALL);
          commands.push(appendVisits(part.length, ...part.map((l) => l.key), ...part.map((l) => l.bytes), ...part.map((l) => l.expireAt)));
        }
      }
      for (const [day, visitors] of activeByDay) {
        const key = global.activeOfDay(day);
        commands.push(redis.pfadd(key, ...visitors));
        commands.push(redis.pexpireat(key, (day + 1) * DAY_MS + retention));
      }
      for (const [hash, point] of namesToWrite) commands.push(redis.hset(compromisePointNamesKey(prefix, hash), hash, point));
      for (const [key, visitor, token] of directoryToWrite) {
        commands.push(redis.hset(key, visitor, token));
        commands.push(redis.pexpireat(key, (Math.floor(Date.now() / EPOCH_MS) + 1) * EPOCH_MS + retention + EPOCH_MS));
      }
      await guarded('recordVisits', () => Promise.all(commands));
    },

    async visitsAt(point, fromMs, untilMs) {
      const keys = compromisePointKeys(prefix, point);
      const days: number[] = [];
      for (let day = dayOf(fromMs); day <= dayOf(untilMs - 1); day++) days.push(day);
      const buffers = await guarded('visitsAt', () => Promise.all(days.map((day) => redis.getBuffer(keys.visitsOfDay(day)))));
      const visits: Visit[] = [];
      for (const buffer of buffers) decodePointLog(buffer, visits, fromMs, untilMs);
      // Chunks append concurrently from several partitions: a day's log is nearly, not exactly, in time order.
      return visits.sort((a, b) => a.atMs - b.atMs);
    },

    async cardVisits(cardToken, fromMs, untilMs) {
      const epochs: number[] = [];
      for (let e = Math.floor(fromMs / CARD_LOG_EPOCH_MS); e <= Math.floor((untilMs - 1) / CARD_LOG_EPOCH_MS); e++) epochs.push(e);
      const buffers = await guarded('cardVisits', () => Promise.all(epochs.map((e) => redis.getBuffer(compromiseCardVisitsKey(prefix, cardToken, e)))));
      const raw: Array<{ atMs: number; hashes: string[] }> = [];
      const hashes = new Set<string>();
      const seen = new Set<string>();
      for (const buffer of buffers) {
        if (buffer === null) continue;
        for (let at = 0; at + CARD_ENTRY_BYTES <= buffer.length; at += CARD_ENTRY_BYTES) {
          const atMs = buffer.readUInt32LE(at) * MINUTE_MS;
          if (atMs < fromMs || atMs >= untilMs) continue;
          const entryKey = buffer.toString('hex', at, at + CARD_ENTRY_BYTES);
          if (seen.has(entryKey)) continue;
          seen.add(entryKey);
          const points: string[] = [];
          for (const offset of [4, 10]) {
            if (buffer.compare(NO_POINT, 0, 6, at + offset, at + offset + 6) === 0) continue;
            const hash = buffer.toString('hex', at + offset, at + offset + 6);
            points.push(hash);
            hashes.add(hash);
          }
          raw.push({ atMs, hashes: points });
        }
      }
      const hashList = [...hashes];
      const resolved = await guarded('cardVisits', () => Promise.all(hashList.map((h) => redis.hget(compromisePointNamesKey(prefix, h), h))));
      const nameOf = new Map<string, string>();
      hashList.forEach((h, i) => {
        const name = resolved[i];
        if (name !== null) nameOf.set(h, name);
      });
      const visits = raw.map((r) => ({ atMs: r.atMs, points: r.hashes.map((h) => nameOf.get(h)).filter((p): p is string => p !== undefined) }));
      const victim = await store.victim(cardToken);
      const result: CardVisits = { visits };
      if (victim?.accountId !== undefined) result.accountId = victim.accountId;
      return result;
    },

    async dailyVisits(point, fromDay, untilDay) {
      const keys = compromisePointKeys(prefix, point);
      const days: number[] = [];
      for (let day = fromDay; day <= untilDay; day++) days.push(day);
      const lengths = await guarded('dailyVisits', () => Promise.all(days.map((day) => redis.strlen(keys.visitsOfDay(day)))));
      return lengths.map((length) => Math.floor(Number(length) / POINT_ENTRY_BYTES));
    },

    async cardTokens(visitors) {
      const found = new Map<string, string>();
      if (visitors.length === 0) return found;
      const nowEpoch = Math.floor(Date.now() / EPOCH_MS);
      const epochs: number[] = [];
      for (let e = nowEpoch - Math.ceil(retention / EPOCH_MS) - 1; e <= nowEpoch; e++) epochs.push(e);
      // Newest epoch first; a card found there need not be asked again.
      for (const epoch of epochs.reverse()) {
        const missing = visitors.filter((v) => !found.has(v));
        if (missing.length === 0) break;
        const tokens = await guarded('cardTokens', () => Promise.all(missing.map((v) => redis.hget(compromiseDirectoryKey(prefix, v, epoch), v))));
        missing.forEach((v, i) => {
          const token = tokens[i];
          if (token !== null) found.set(v, token);
        });
      }
      return found;
    },

    async activeCards(fromDay, untilDay) {
      const keys: string[] = [];
      for (let day = fromDay; day <= untilDay; day++) keys.push(global.activeOfDay(day));
      return guarded('activeCards', () => redis.pfcount(...keys));
    },

    async victim(cardToken) {
      const raw = await guarded('victim', () => redis.hget(global.victims, cardToken));
      return raw === null ? undefined : (JSON.parse(raw) as VictimRecord);
    },

    async putVictim(record) {
      const previous = await store.victim(record.cardToken);
      const now = new Set(record.points.map((p) => p.point));
      const commands: Array<Promise<unknown>> = [];
      for (const { point } of previous?.points ?? []) if (!now.has(point)) commands.push(redis.hdel(compromisePointKeys(prefix, point).victims, record.cardToken));
      for (const { point, visitsMs } of record.points) {
        const key = compromisePointKeys(prefix, point).victims;
        const victim: PointVictim = { cardToken: record.cardToken, ...(record.accountId !== undefined ? { accountId: record.accountId } : {}), visitsMs, weight: record.weight };
        commands.push(redis.hset(key, record.cardToken, JSON.stringify(victim)));
        commands.push(redis.pexpire(key, pointTtlMs));
      }
      commands.push(redis.hset(global.victims, record.cardToken, JSON.stringify(record)));
      commands.push(redis.zadd(global.victimsByFirstFraud, record.firstFraudMs, record.cardToken));
      await guarded('putVictim', () => Promise.all(commands));
    },

    async removeVictim(cardToken) {
      const previous = await store.victim(cardToken);
      const commands: Array<Promise<unknown>> = [redis.hdel(global.victims, cardToken), redis.zrem(global.victimsByFirstFraud, cardToken)];
      for (const { point } of previous?.points ?? []) commands.push(redis.hdel(compromisePointKeys(prefix, point).victims, cardToken));
      await guarded('removeVictim', () => Promise.all(commands));
    },

    async victimsAt(point) {
      const raw = await guarded('victimsAt', () => redis.hvals(compromisePointKeys(prefix, point).victims));
      return raw.map((value) => JSON.parse(value) as PointVictim);
    },

    async victimWeight(fromMs, untilMs) {
      const tokens = await guarded('victimWeight', () => redis.zrangebyscore(global.victimsByFirstFraud, fromMs, `(${untilMs}`));
      if (tokens.length === 0) return 0;
      // Old victims leave the index as the window moves on (the records keep their retention).
      await guarded('victimWeight', () => redis.zremrangebyscore(global.victimsByFirstFraud, '-inf', `(${fromMs - retention}`));
      let weight = 0;
      for (let i = 0; i < tokens.length; i += 1000) {
        const records = await guarded('victimWeight', () => redis.hmget(global.victims, ...tokens.slice(i, i + 1000)));
        for (const raw of records) if (raw !== null) weight += (JSON.parse(raw) as VictimRecord).weight;
      }
      return weight;
    },

    async confirmedVictims(cardTokens) {
      const confirmed = new Set<string>();
      for (let i = 0; i < cardTokens.length; i += 1000) {
        const batch = cardTokens.slice(i, i + 1000);
        const records = await guarded('confirmedVictims', () => redis.hmget(global.victims, ...batch));
        records.forEach((raw, j) => {
          if (raw !== null && (JSON.parse(raw) as VictimRecord).weight >= 1) confirmed.add(batch[j]);
        });
      }
      return confirmed;
    },

    async claims(cardTokens) {
      const found = new Map<string, { point: PointKey; pValue: number }>();
      for (let i = 0; i < cardTokens.length; i += 1000) {
        const batch = cardTokens.slice(i, i + 1000);
        const raw = await guarded('claims', () => redis.hmget(global.claims, ...batch));
        raw.forEach((value, j) => {
          if (value !== null) found.set(batch[j], JSON.parse(value) as { point: PointKey; pValue: number });
        });
      }
      return found;
    },

    async claim(point, pValue, cardTokens) {
      if (cardTokens.length === 0) return;
      const known = await store.claims(cardTokens);
      const stronger = cardTokens.filter((t) => (known.get(t)?.pValue ?? Number.POSITIVE_INFINITY) > pValue);
      if (stronger.length === 0) return;
      const value = JSON.stringify({ point, pValue });
      await guarded('claim', () => redis.hset(global.claims, ...stronger.flatMap((t) => [t, value])));
    },

    async putFrauds(point, list) {
      if (list.length === 0) return;
      const key = compromisePointKeys(prefix, point).frauds;
      await guarded('putFrauds', () =>
        Promise.all([redis.hset(key, ...list.flatMap((f) => [f.transaction, JSON.stringify(f)])), redis.pexpire(key, pointTtlMs)]),
      );
    },

    async fraudsAt(point) {
      const raw = await guarded('fraudsAt', () => redis.hvals(compromisePointKeys(prefix, point).frauds));
      return raw.map((value) => JSON.parse(value) as PointFraud);
    },

    async finding(point) {
      const raw = await guarded('finding', () => redis.get(compromisePointKeys(prefix, point).finding));
      return raw === null ? undefined : (JSON.parse(raw) as FindingState);
    },

    async putFinding(point, finding) {
      await guarded('putFinding', () => redis.set(compromisePointKeys(prefix, point).finding, JSON.stringify(finding), 'PX', pointTtlMs));
    },

    async unfinishedPublications() {
      const raw = await guarded('unfinishedPublications', () => redis.hvals(global.publishing));
      return raw.map((value) => JSON.parse(value) as Publication);
    },

    async beginPublication(publication) {
      await guarded('beginPublication', () =>
        Promise.all([redis.hset(global.publishing, publication.finding.point, JSON.stringify(publication)), redis.pexpire(global.publishing, pointTtlMs)]),
      );
    },

    async endPublication(point) {
      await guarded('endPublication', () => redis.hdel(global.publishing, point));
    },

    async unwarned(point, cardTokens) {
      if (cardTokens.length === 0) return [];
      const key = compromisePointKeys(prefix, point).warned;
      const left: string[] = [];
      for (let i = 0; i < cardTokens.length; i += 1000) {
        const batch = cardTokens.slice(i, i + 1000);
        const members = await guarded('unwarned', () => redis.smismember(key, ...batch));
        batch.forEach((token, j) => {
          if (members[j] === 0) left.push(token);
        });
      }
      return left;
    },

    async markWarned(point, cardTokens) {
      if (cardTokens.length === 0) return;
      const key = compromisePointKeys(prefix, point).warned;
      await guarded('markWarned', () => Promise.all([redis.sadd(key, ...cardTokens), redis.pexpire(key, pointTtlMs)]));
    },

    async putExposures(exposures: readonly Exposure[]) {
      if (exposures.length === 0) return;
      // Trimmed by entry id (wall-clock ms): the feed keeps the retention, so a new instance learns every exposure still in force.
      const minId = `${Math.max(0, Date.now() - retention)}-0`;
      await guarded('putExposures', () =>
        Promise.all(exposures.map((e) => redis.xadd(global.exposures, 'MINID', '~', minId, '*', 'e', JSON.stringify(e)))),
      );
    },

    async exposuresAfter(cursor, limit) {
      const start = cursor === '' ? '-' : `(${cursor}`;
      const entries = await guarded('exposuresAfter', () => redis.xrange(global.exposures, start, '+', 'COUNT', limit));
      const exposures: Exposure[] = [];
      let next = cursor;
      for (const [id, fields] of entries) {
        next = id;
        const at = fields.indexOf('e');
        if (at >= 0 && at + 1 < fields.length) exposures.push(JSON.parse(fields[at + 1]) as Exposure);
      }
      return { exposures, cursor: next };
    },

    async addToList(list, id) {
      await guarded('addToList', () => redis.sadd(namedListKey(prefix, list), id));
    },

    async close() {},
  };
  return store;
}

/** Cards the service blocked, queued in Redis for the detector (any instance may drain them). */
export function redisSuspectQueue(redis: Redis | Cluster, keyPrefix: string) {
  const key = compromiseGlobalKeys(keyPrefix).suspects;
  return {
    async add(suspects: ReadonlyArray<{ cardToken: string; eventTimeMs: number }>): Promise<void> {
      if (suspects.length === 0) return;
      // LT: a card blocked again later keeps its earliest time (its first suspected fraud).
      try {
        await redis.call('ZADD', key, 'LT', ...suspects.flatMap((s) => [String(s.eventTimeMs), s.cardToken]));
      } catch (error) {
        throw toStateError('compromise suspects', error);
      }
    },
    async take(limit: number): Promise<Array<{ cardToken: string; eventTimeMs: number }>> {
      const flat = await redis.zrange(key, '0', String(limit - 1), 'WITHSCORES');
      const out: Array<{ cardToken: string; eventTimeMs: number }> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ cardToken: flat[i], eventTimeMs: Number(flat[i + 1]) });
      return out;
    },
    async done(suspects: ReadonlyArray<{ cardToken: string; eventTimeMs: number }>): Promise<void> {
      // Only members whose time did not move meanwhile: an earlier block that arrived since is taken next time.
      for (const s of suspects) await redis.zremrangebyscore(key, s.eventTimeMs, s.eventTimeMs);
    },
  };
}
