/**
 * Compromise state in memory: the embedded mode, the demo and offline replays (`npm run compromise`). Same
 * interface and same idempotence as the Redis store; entries older than the retention (in event time) are dropped
 * as the replay moves on, as Redis expires them.
 */
import type { CardTransaction } from '../contract/transaction';
import {
  DAY_MS,
  MINUTE_MS,
  dayOf,
  pointsOf,
  visitorId,
  type CompromiseStore,
  type Exposure,
  type FindingState,
  type Publication,
  type PointFraud,
  type PointKey,
  type PointVictim,
  type VictimRecord,
  type Visit,
} from './store';

class VisitLog {
  times: number[] = [];
  cards: string[] = [];
  private sorted = true;

  add(card: string, atMs: number): void {
    if (this.times.length > 0 && atMs < this.times[this.times.length - 1]) this.sorted = false;
    this.times.push(atMs);
    this.cards.push(card);
  }

  private sort(): void {
    if (this.sorted) return;
    const order = this.times.map((_, i) => i).sort((a, b) => this.times[a] - this.times[b]);
    this.times = order.map((i) => this.times[i]);
    this.cards = order.map((i) => this.cards[i]);
    this.sorted = true;
  }

  /** Index of the first entry at or after `ms`. */
  lowerBound(ms: number): number {
    this.sort();
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid] < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  dropBefore(ms: number): void {
    const from = this.lowerBound(ms);
    if (from === 0) return;
    this.times = this.times.slice(from);
    this.cards = this.cards.slice(from);
  }
}

export interface MemoryCompromiseStoreOptions {
  /** Visits, activity and victims older than this (behind the newest event seen) are forgotten. */
  retentionMs: number;
}

/** Old entries are swept after this many transactions (a scan of every point). */
const SWEEP_EVERY = 200_000;

export function createMemoryCompromiseStore(options: MemoryCompromiseStoreOptions): CompromiseStore {
  const logs = new Map<PointKey, VisitLog>();
  const tokens = new Map<string, string>();
  const cardLogs = new Map<string, { accountId?: string; times: number[]; points: PointKey[][] }>();
  // Each card's last day seen, and how many cards were last seen on each day: distinct cards since a day is then a
  // sum over days, not a union of sets (the detector asks on every label).
  const lastDayOf = new Map<string, number>();
  const lastSeenOnDay = new Map<number, number>();
  const victims = new Map<string, VictimRecord>();
  const victimsByPoint = new Map<PointKey, Map<string, PointVictim>>();
  const fraudsByPoint = new Map<PointKey, Map<string, PointFraud>>();
  const findings = new Map<PointKey, FindingState>();
  const publishing = new Map<PointKey, Publication>();
  const claims = new Map<string, { point: PointKey; pValue: number }>();
  const warned = new Map<PointKey, Set<string>>();
  const exposures: Exposure[] = [];
  const lists = new Map<string, Set<string>>();
  let newestMs = Number.NEGATIVE_INFINITY;
  let sinceSweep = 0;

  function sweep(): void {
    const cutoff = newestMs - options.retentionMs;
    for (const [point, log] of logs) {
      log.dropBefore(cutoff);
      if (log.times.length === 0) logs.delete(point);
    }
    for (const [token, log] of cardLogs) {
      const keep = log.times.findIndex((t) => t >= cutoff);
      if (keep === -1) cardLogs.delete(token);
      else if (keep > 0) {
        log.times = log.times.slice(keep);
        log.points = log.points.slice(keep);
      }
    }
    for (const [card, day] of lastDayOf) {
      if (day >= dayOf(cutoff)) continue;
      lastDayOf.delete(card);
      lastSeenOnDay.set(day, lastSeenOnDay.get(day)! - 1);
    }
  }

  function forgetVictimAtPoints(record: VictimRecord | undefined): void {
    if (record === undefined) return;
    for (const { point } of record.points) victimsByPoint.get(point)?.delete(record.cardToken);
  }

  return {
    async recordVisits(txns) {
      for (const txn of txns as readonly CardTransaction[]) {
        const card = visitorId(txn.cardToken);
        const atMs = Math.floor(txn.eventTimeMs / MINUTE_MS) * MINUTE_MS;
        tokens.set(card, txn.cardToken);
        const points = pointsOf(txn);
        let cardLog = cardLogs.get(txn.cardToken);
        if (cardLog === undefined) cardLogs.set(txn.cardToken, (cardLog = { times: [], points: [] }));
        if (txn.accountId !== undefined) cardLog.accountId = txn.accountId;
        cardLog.times.push(atMs);
        cardLog.points.push(points);
        for (const point of points) {
          let log = logs.get(point);
          if (log === undefined) logs.set(point, (log = new VisitLog()));
          log.add(card, atMs);
        }
        const day = dayOf(txn.eventTimeMs);
        const lastDay = lastDayOf.get(card);
        if (lastDay === undefined || lastDay < day) {
          if (lastDay !== undefined) lastSeenOnDay.set(lastDay, lastSeenOnDay.get(lastDay)! - 1);
          lastSeenOnDay.set(day, (lastSeenOnDay.get(day) ?? 0) + 1);
          lastDayOf.set(card, day);
        }
        if (txn.eventTimeMs > newestMs) newestMs = txn.eventTimeMs;
      }
      sinceSweep += txns.length;
      if (sinceSweep >= SWEEP_EVERY) {
        sinceSweep = 0;
        sweep();
      }
    },

    async visitsAt(point, fromMs, untilMs) {
      const log = logs.get(point);
      if (log === undefined) return [];
      const visits: Visit[] = [];
      for (let i = log.lowerBound(fromMs); i < log.times.length && log.times[i] < untilMs; i++) visits.push({ card: log.cards[i], atMs: log.times[i] });
      return visits;
    },

    async cardVisits(cardToken, fromMs, untilMs) {
      const log = cardLogs.get(cardToken);
      if (log === undefined) return { visits: [] };
      const visits: Array<{ atMs: number; points: PointKey[] }> = [];
      const seen = new Set<string>();
      log.times.forEach((atMs, i) => {
        if (atMs < fromMs || atMs >= untilMs) return;
        const key = `${atMs}|${log.points[i].join('|')}`;
        if (seen.has(key)) return;
        seen.add(key);
        visits.push({ atMs, points: log.points[i] });
      });
      return { ...(log.accountId !== undefined ? { accountId: log.accountId } : {}), visits };
    },

    async dailyVisits(point, fromDay, untilDay) {
      const log = logs.get(point);
      const counts: number[] = [];
      for (let day = fromDay; day <= untilDay; day++) {
        counts.push(log === undefined ? 0 : log.lowerBound((day + 1) * DAY_MS) - log.lowerBound(day * DAY_MS));
      }
      return counts;
    },

    async cardTokens(visitors) {
      const found = new Map<string, string>();
      for (const visitor of visitors) {
        const token = tokens.get(visitor);
        if (token !== undefined) found.set(visitor, token);
      }
      return found;
    },

    async activeCards(fromDay, untilDay) {
      // Cards last seen in [fromDay, untilDay]: exactly the distinct cards of the range when it reaches the newest
      // day, which is how the detector asks (a replay never asks about a range that ends in its past).
      let count = 0;
      for (const [day, cards] of lastSeenOnDay) if (day >= fromDay && day <= untilDay) count += cards;
      return count;
    },

    async victim(cardToken) {
      return victims.get(cardToken);
    },

    async putVictim(record) {
      forgetVictimAtPoints(victims.get(record.cardToken));
      victims.set(record.cardToken, record);
      for (const { point, visitsMs } of record.points) {
        let atPoint = victimsByPoint.get(point);
        if (atPoint === undefined) victimsByPoint.set(point, (atPoint = new Map()));
        atPoint.set(record.cardToken, { cardToken: record.cardToken, ...(record.accountId !== undefined ? { accountId: record.accountId } : {}), visitsMs, weight: record.weight });
      }
    },

    async removeVictim(cardToken) {
      forgetVictimAtPoints(victims.get(cardToken));
      victims.delete(cardToken);
    },

    async victimsAt(point) {
      return [...(victimsByPoint.get(point)?.values() ?? [])];
    },

    async victimWeight(fromMs, untilMs) {
      let weight = 0;
      for (const v of victims.values()) if (v.firstFraudMs >= fromMs && v.firstFraudMs < untilMs) weight += v.weight;
      return weight;
    },

    async confirmedVictims(cardTokens) {
      return new Set(cardTokens.filter((t) => (victims.get(t)?.weight ?? 0) >= 1));
    },

    async claims(cardTokens) {
      const found = new Map<string, { point: PointKey; pValue: number }>();
      for (const token of cardTokens) {
        const claim = claims.get(token);
        if (claim !== undefined) found.set(token, claim);
      }
      return found;
    },

    async claim(point, pValue, cardTokens) {
      for (const token of cardTokens) {
        const known = claims.get(token);
        if (known === undefined || pValue < known.pValue) claims.set(token, { point, pValue });
      }
    },

    async putFrauds(point, list) {
      let atPoint = fraudsByPoint.get(point);
      if (atPoint === undefined) fraudsByPoint.set(point, (atPoint = new Map()));
      for (const fraud of list) {
        atPoint.set(fraud.transaction, fraud);
      }
    },

    async fraudsAt(point) {
      return [...(fraudsByPoint.get(point)?.values() ?? [])];
    },

    async finding(point) {
      return findings.get(point);
    },

    async putFinding(point, finding) {
      findings.set(point, finding);
    },

    async unfinishedPublications() {
      return [...publishing.values()];
    },

    async beginPublication(publication) {
      publishing.set(publication.finding.point, publication);
    },

    async endPublication(point) {
      publishing.delete(point);
    },

    async unwarned(point, cardTokens) {
      const done = warned.get(point);
      return done === undefined ? [...cardTokens] : cardTokens.filter((t) => !done.has(t));
    },

    async markWarned(point, cardTokens) {
      let done = warned.get(point);
      if (done === undefined) warned.set(point, (done = new Set()));
      for (const token of cardTokens) done.add(token);
    },

    async putExposures(list) {
      exposures.push(...list);
    },

    async exposuresAfter(cursor, limit) {
      const from = cursor === '' ? 0 : Number(cursor);
      const slice = exposures.slice(from, from + limit);
      return { exposures: slice, cursor: String(from + slice.length) };
    },

    async addToList(list, id) {
      let members = lists.get(list);
      if (members === undefined) lists.set(list, (members = new Set()));
      members.add(id);
    },

    async close() {},
  };
}
