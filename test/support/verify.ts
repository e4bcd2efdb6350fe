/** The guarantees every fault test checks: each transaction scored, counted exactly once, alert ids unique. */
import type { Cluster, Redis } from 'ioredis';
import type { AlertMessage } from '../../src/contract/schemas';
import { cardTokenizer } from '../../src/contract/card';
import { toCardTransaction } from '../../src/contract/transaction';
import type { TransactionMessage } from '../../src/contract/schemas';
import { FEATURE_INDEX } from '../../src/state/features';
import { createRedisStore } from '../../src/state/redis-store';
import type { CollectedMessage } from './kafka';
import { TEST_HMAC_KEY } from './service';
import { cardStream } from './traffic';

export interface BulkTraffic {
  messages: TransactionMessage[];
  cards: number;
  perCard: number;
  /** Event time of each card's last transaction. */
  lastMs: number;
}

/**
 * `cards × perCard` transactions, interleaved in time. Every tenth card bursts (a minute apart, which trips the
 * velocity rule); the others shop an hour apart. All of a card's transactions fall inside 24 hours.
 */
export function bulkTraffic(cards: number, perCard: number, startMs: number, prefix: string): BulkTraffic {
  const streams = Array.from({ length: cards }, (_, c) => cardStream(1000 + c, perCard, startMs + c * 100, c % 10 === 0 ? 60_000 : 3600_000, prefix));
  const messages: TransactionMessage[] = [];
  for (let i = 0; i < perCard; i++) for (const stream of streams) messages.push(stream[i]);
  messages.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  return { messages, cards, perCard, lastMs: startMs + cards * 100 + (perCard - 1) * 3600_000 };
}

/** Asks the real store, with a probe transaction per card just after the traffic: count_24h = perCard + 1. */
export async function countsPerCard(redis: Redis | Cluster, keyPrefix: string, traffic: BulkTraffic): Promise<Map<number, number>> {
  const store = createRedisStore(redis, { keyPrefix });
  const tokenize = cardTokenizer(TEST_HMAC_KEY);
  const counts = new Map<number, number>();
  const cards = Array.from({ length: traffic.cards }, (_, c) => 1000 + c);
  for (let i = 0; i < cards.length; i += 500) {
    const chunk = cards.slice(i, i + 500);
    const probes = chunk.map((card) => toCardTransaction(cardStream(card, 1, traffic.lastMs + 60_000, 0, `probe-${card}`)[0], tokenize, 'KZT'));
    const applied = await store.applyBatch(probes);
    chunk.forEach((card, j) => counts.set(card, applied[j].features[FEATURE_INDEX['card.count_24h']] - 1));
  }
  return counts;
}

/** Every alert id belongs to one (transaction, type), and every (transaction, type) has one alert id. */
export function alertIdProblems(alerts: CollectedMessage[]): string[] {
  const bySubject = new Map<string, string>();
  const byId = new Map<string, string>();
  const problems: string[] = [];
  for (const m of alerts) {
    const alert = JSON.parse(String(m.value)) as AlertMessage;
    const subject = `${alert.type}|${alert.transactionId}`;
    if (bySubject.has(subject) && bySubject.get(subject) !== alert.alertId) problems.push(`two ids for ${subject}`);
    if (byId.has(alert.alertId) && byId.get(alert.alertId) !== subject) problems.push(`id ${alert.alertId} used for two subjects`);
    bySubject.set(subject, alert.alertId);
    byId.set(alert.alertId, subject);
  }
  return problems;
}

/**
 * How often a republished alert id carried other content than its first publication, by field (empty when every
 * republication is the first one again, as the suppressor's memo makes it).
 */
export function republishedChanges(alerts: CollectedMessage[]): Record<string, number> {
  const first = new Map<string, Record<string, unknown>>();
  const changed: Record<string, number> = {};
  for (const m of alerts) {
    const alert = JSON.parse(String(m.value)) as Record<string, unknown>;
    const before = first.get(alert.alertId as string);
    if (!before) {
      first.set(alert.alertId as string, alert);
      continue;
    }
    for (const key of new Set([...Object.keys(before), ...Object.keys(alert)])) {
      if (JSON.stringify(before[key]) !== JSON.stringify(alert[key])) changed[key] = (changed[key] ?? 0) + 1;
    }
  }
  return changed;
}

export function distinctDecided(scores: CollectedMessage[]): Set<string> {
  return new Set(scores.map((m) => (JSON.parse(String(m.value)) as { transactionId: string }).transactionId));
}
