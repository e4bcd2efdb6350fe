/**
 * Alert suppression shared by every instance: one Lua call per candidate (src/alerts/lua/suppressAlert-2.lua), all
 * candidates of a chunk in one pipeline. Calls for one card run in order, so two alerts of one chunk see each other.
 * The same call keeps the memo of each alert let through (src/alerts/suppression.ts says why).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { StateUnavailableError } from '../errors';
import { alertMemoKey, alertSuppressionKey } from '../state/keys';
import { memoTtlMs, type AlertSuppressor, type SuppressionOutcome, type SuppressionVerdict } from './suppression';

/** Reply codes of suppressAlert-2.lua. */
export enum SuppressionReply {
  Suppressed = 0,
  New = 1,
  Escalated = 2,
  Redelivered = 3,
}

const VERDICT: Record<SuppressionReply, SuppressionVerdict> = {
  [SuppressionReply.Suppressed]: 'suppressed',
  [SuppressionReply.New]: 'new',
  [SuppressionReply.Escalated]: 'escalated',
  [SuppressionReply.Redelivered]: 'redelivered',
};

/** Versioned so two deployed versions never run each other's script. */
const COMMAND = 'cardshieldSuppressAlert_v2';

/** The card's suppression key, built with every other key in src/state/keys.ts. */
export const suppressionKey = alertSuppressionKey;

export function createRedisSuppressor(redis: Redis | Cluster, options: { keyPrefix: string; periodMs: number }): AlertSuppressor {
  if (!(COMMAND in redis)) {
    redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: readFileSync(join(__dirname, 'lua', 'suppressAlert-2.lua'), 'utf8') });
  }
  // Two periods of wall time: enough for any event-time comparison the record can still win.
  const ttlMs = Math.max(60_000, options.periodMs * 2);
  const memoMs = memoTtlMs(options.periodMs);
  return {
    async check(candidates) {
      if (candidates.length === 0) return [];
      const pipeline = redis.pipeline() as unknown as Record<string, (...args: unknown[]) => void> & { exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (const c of candidates) {
        const keys = [suppressionKey(options.keyPrefix, c.cardToken), alertMemoKey(options.keyPrefix, c.cardToken, c.alertId)];
        pipeline[COMMAND](...keys, c.alertId, c.eventTimeMs, c.level, options.periodMs, ttlMs, c.publication, memoMs);
      }
      let replies: Array<[Error | null, unknown]> | null;
      try {
        replies = await pipeline.exec();
      } catch (error) {
        throw new StateUnavailableError(`alert suppression failed: ${(error as Error).message}`, error);
      }
      if (replies === null) throw new StateUnavailableError('alert suppression failed: the pipeline was discarded');
      return replies.map(([error, reply]): SuppressionOutcome => {
        if (error) throw new StateUnavailableError(`alert suppression failed: ${error.message}`, error);
        const [code, firstPublication] = reply as [number, string?];
        const verdict = VERDICT[Number(code) as SuppressionReply];
        return firstPublication === undefined ? { verdict } : { verdict, firstPublication };
      });
    },
  };
}
