/**
 * Compromise detection as the service runs it, built in one place for the composition root: the store (Redis when
 * the service has Redis, else memory), the detector, the exposure index scoring reads, the suspect queue the
 * scoring path feeds with its block decisions, and the loops that keep them moving. `close()` stops the loops.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Config } from '../config/schema';
import type { AlertSink } from '../alerts/sinks';
import type { CompromiseHooks } from '../scoring/pipeline';
import type { FeatureStore } from '../state/store';
import type { Telemetry } from '../telemetry/events';
import type { Logger } from '../telemetry/logger';
import { CompromiseDetector, type DetectorSettings, type Suspect } from './detector';
import { ExposureIndex } from './exposures';
import { createMemoryCompromiseStore } from './memory-store';
import { createRedisCompromiseStore, redisSuspectQueue } from './redis-store';
import { DAY_MS, type CompromiseStore } from './store';

export interface CompromiseRuntime {
  store: CompromiseStore;
  detector: CompromiseDetector;
  exposures: ExposureIndex;
  hooks: CompromiseHooks;
  /** Drains queued suspects through the detector now (the loop does it every few seconds). */
  drainSuspects(): Promise<void>;
  close(): void;
}

export function detectorSettings(config: Config): DetectorSettings {
  return {
    lookbackMs: config.compromiseLookbackDays * DAY_MS,
    retentionMs: config.compromiseRetentionDays * DAY_MS,
    maxWindowMs: config.compromiseMaxWindowDays * DAY_MS,
    minVictims: config.compromiseMinVictims,
    alarmPValue: config.compromiseAlarmP,
    minLift: config.compromiseMinLift,
    reissuePValue: config.compromiseReissueP,
    suspectWeight: config.compromiseSuspectWeight,
    minFraudShare: config.compromiseMinFraudShare,
  };
}

/** How often every instance reads the exposure feed (a card warned elsewhere is seen by scoring within this). */
const EXPOSURE_SYNC_MS = 1000;
/** How often queued suspects are drained, and how many at a time. */
const SUSPECT_DRAIN_MS = 5000;
const SUSPECT_BATCH = 500;

export async function startCompromiseDetection(deps: {
  config: Config;
  redis?: Redis | Cluster;
  features: FeatureStore;
  alerts: AlertSink;
  telemetry: Telemetry;
  logger: Logger;
  /** A detected point entered a list: let this instance's rules see it now. */
  onListed(list: string, id: string): void;
}): Promise<CompromiseRuntime> {
  const settings = detectorSettings(deps.config);
  const store = deps.redis
    ? createRedisCompromiseStore(deps.redis, { keyPrefix: deps.config.redisKeyPrefix, retentionMs: settings.retentionMs, telemetry: deps.telemetry })
    : createMemoryCompromiseStore({ retentionMs: settings.retentionMs });
  const exposures = new ExposureIndex(store, { logger: deps.logger, telemetry: deps.telemetry });
  const detector = new CompromiseDetector({
    store,
    history: (token) => deps.features.cardHistory(token),
    alerts: {
      // Scoring sees this instance's own warnings at once; other instances within EXPOSURE_SYNC_MS.
      publish: async (alerts) => {
        await deps.alerts.publish(alerts);
        if (alerts.some((a) => a.type === 'card-at-risk')) void exposures.sync().catch(() => undefined);
      },
    },
    telemetry: deps.telemetry,
    now: Date.now,
    settings,
    onListed: deps.onListed,
  });
  // Redis down at start: not ready (the state check says so), and the feed is read once it is back.
  await exposures.sync().catch((error: unknown) => deps.logger.warn({ err: error }, 'exposure feed: the first read failed; retrying every second'));
  exposures.start(EXPOSURE_SYNC_MS);

  // Suspects: in memory they go straight to the detector; with Redis they wait in a queue any instance drains, so
  // the scoring path never waits on detection.
  let queue: { add(s: readonly Suspect[]): Promise<void>; drain(): Promise<void> } | undefined;
  if (settings.suspectWeight > 0) {
    if (deps.redis) {
      const redisQueue = redisSuspectQueue(deps.redis, deps.config.redisKeyPrefix);
      queue = {
        add: (s) => redisQueue.add(s),
        async drain() {
          for (;;) {
            const batch = await redisQueue.take(SUSPECT_BATCH);
            if (batch.length === 0) return;
            await detector.onSuspects(batch);
            await redisQueue.done(batch);
            if (batch.length < SUSPECT_BATCH) return;
          }
        },
      };
    } else {
      let pending: Suspect[] = [];
      queue = {
        add: async (s) => void pending.push(...s),
        async drain() {
          const batch = pending;
          pending = [];
          if (batch.length > 0) await detector.onSuspects(batch);
        },
      };
    }
  }
  let draining: Promise<void> | undefined;
  const drainSuspects = (): Promise<void> => {
    draining ??= (queue?.drain() ?? Promise.resolve()).finally(() => {
      draining = undefined;
    });
    return draining;
  };
  const timer = setInterval(() => {
    drainSuspects().catch((error: unknown) => deps.logger.warn({ err: error }, 'compromise: draining blocked cards failed; they stay queued'));
  }, SUSPECT_DRAIN_MS);
  timer.unref();

  return {
    store,
    detector,
    exposures,
    hooks: { visits: store, exposures, ...(queue ? { suspects: { add: (s) => queue.add(s) } } : {}) },
    drainSuspects,
    close() {
      clearInterval(timer);
      exposures.close();
    },
  };
}
