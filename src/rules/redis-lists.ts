/**
 * Large lists kept in Redis sets, one set a list at `<REDIS_KEY_PREFIX>list:<name>`, for lists declared
 * `external: true` in the rule file. Rule evaluation is synchronous and costs about a microsecond, so a round trip
 * per list per transaction is out of the question: each set is mirrored in memory and re-read every
 * `refreshIntervalMs`. Whoever maintains a list (an analyst's script, compromise detection) writes the Redis set;
 * every instance picks the change up within one interval.
 *
 * A refresh reads the set with SSCAN, so a huge set never blocks Redis; members present for the whole scan are
 * seen, members added or removed during it may be seen at the next refresh. The new membership replaces the old in
 * one assignment. When Redis cannot be read the previous membership keeps serving and the failure is logged and
 * emitted as 'state.error'.
 */
import type { Cluster, Redis } from 'ioredis';
import { StateUnavailableError } from '../errors';
import { namedListKey } from '../state/keys';
import type { Telemetry } from '../telemetry/events';
import type { Logger } from '../telemetry/logger';
import type { ListMembership, ListRegistry } from './lists';

export interface RedisListMirrorOptions {
  redis: Redis | Cluster;
  /** REDIS_KEY_PREFIX. */
  keyPrefix: string;
  logger: Logger;
  telemetry: Telemetry;
  /** How often every mirrored set is re-read. Default 30 s. */
  refreshIntervalMs?: number;
  /** Members asked for per SSCAN call. Default 1000. */
  scanCount?: number;
}

/** The Redis key of a list, built with every other key in src/state/keys.ts. */
export const redisListKey = namedListKey;

class MirroredSet implements ListMembership {
  members: ReadonlySet<string> = new Set();

  has(value: string): boolean {
    return this.members.has(value);
  }

  get size(): number {
    return this.members.size;
  }
}

export class RedisListMirror implements ListRegistry {
  private readonly mirrors = new Map<string, MirroredSet>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly options: RedisListMirrorOptions) {}

  /**
   * The mirror of a list, created empty on first request: the rule compiler asks for the lists a file declares, then
   * the caller awaits `refresh()` before traffic is scored.
   */
  get(name: string): ListMembership {
    let mirror = this.mirrors.get(name);
    if (mirror === undefined) {
      mirror = new MirroredSet();
      this.mirrors.set(name, mirror);
    }
    return mirror;
  }

  names(): string[] {
    return [...this.mirrors.keys()];
  }

  /**
   * Re-reads every mirrored set. Lists that could not be read keep their previous members; the call then rejects
   * with StateUnavailableError naming them, so a caller at start-up can refuse to score on empty lists.
   */
  refresh(): Promise<void> {
    // One refresh at a time: the timer and a reload may ask together, and the second has nothing newer to read.
    this.refreshing ??= this.refreshAll().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Refreshes on an interval until `close()`; failures are logged and emitted, never thrown from the timer. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined /* already logged and emitted by refreshAll */);
    }, this.options.refreshIntervalMs ?? 30_000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async refreshAll(): Promise<void> {
    const failed: string[] = [];
    for (const [name, mirror] of this.mirrors) {
      try {
        mirror.members = await this.readSet(redisListKey(this.options.keyPrefix, name));
      } catch (error) {
        failed.push(name);
        const message = (error as Error).message;
        this.options.logger.error({ err: error, list: name, members: mirror.size }, 'list refresh from Redis failed; the previous members keep serving');
        this.options.telemetry.emit('state.error', { operation: 'rules.list_refresh', error: message });
      }
    }
    if (failed.length > 0) throw new StateUnavailableError(`could not read list(s) ${failed.join(', ')} from Redis`);
  }

  private async readSet(key: string): Promise<Set<string>> {
    const members = new Set<string>();
    const count = this.options.scanCount ?? 1000;
    let cursor = '0';
    do {
      const [next, batch] = await this.options.redis.sscan(key, cursor, 'COUNT', count);
      for (const member of batch) members.add(member);
      cursor = next;
    } while (cursor !== '0');
    return members;
  }
}
