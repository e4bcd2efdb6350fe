/**
 * The at-least-once batch loop, and the only consumer code that knows kafkajs. A handler receives a chunk of raw
 * messages and must finish every side effect (state write, alert produce, dead-letter produce) before it returns;
 * only then is the chunk's last offset resolved and, periodically, committed. A crash anywhere before that point
 * means the chunk is redelivered, which is safe because every side effect is idempotent by transaction id.
 *
 * Failure policy, from `retriable` alone (src/errors.ts):
 * - retriable (Redis down, broker produce failed): hold the chunk and retry it with backoff, heartbeating so the
 *   group keeps us; nothing new is fetched meanwhile, so the partitions are effectively paused; readiness is false.
 * - anything else: a bug; rethrow, the Kafka client crashes the consumer, and the service exits to be restarted.
 * - rebalance or shutdown while a chunk is in flight: the chunk's offset is not resolved; the new owner (or the
 *   next start) gets it again.
 */
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { isRetriable } from '../errors';
import type { Telemetry } from '../telemetry/events';
import type { Logger } from '../telemetry/logger';

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | undefined>;
  /** Broker (or producer) timestamp, epoch ms. */
  timestampMs: number;
}

export type ChunkHandler = (messages: ConsumedMessage[]) => Promise<void>;

export interface BatchConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  /** Messages handed to the handler at once (one state round trip and one model call each). */
  chunkSize: number;
  handler: ChunkHandler;
  telemetry: Telemetry;
  logger: Logger;
  fromBeginning?: boolean;
  /** Backoff bounds while a retriable error persists. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  sessionTimeoutMs?: number;
  /** Partitions whose batches are handled at the same time (each partition's own batches stay in order). */
  concurrentPartitions?: number;
}

export interface RunningConsumer {
  /** True once the group was joined and no dependency is failing. */
  isHealthy(): boolean;
  /** Resolves when the consumer has joined its group (and been assigned partitions, possibly none). */
  joined: Promise<void>;
  /** Resolves when the consumer crashed without restarting; the service should exit. */
  crashed: Promise<Error>;
  /** Stops fetching, lets the chunk in flight finish, commits what was resolved, leaves the group. */
  stop(): Promise<void>;
}

function toConsumed(topic: string, partition: number, message: KafkaMessage): ConsumedMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: (message.headers ?? {}) as ConsumedMessage['headers'],
    timestampMs: Number(message.timestamp),
  };
}

export async function startBatchConsumer(options: BatchConsumerOptions): Promise<RunningConsumer> {
  const { kafka, groupId, topic, chunkSize, handler, telemetry, logger } = options;
  const retryInitialMs = options.retryInitialMs ?? 200;
  const retryMaxMs = options.retryMaxMs ?? 5000;
  const log = logger.child({ component: 'consumer', topic, groupId });

  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30000,
    // The broker needs a heartbeat well within the session timeout; a third of it leaves two chances to spare.
    heartbeatInterval: Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 30000) / 3)),
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxWaitTimeInMs: 100,
    // After a broker outage the consumer is restarted after its last backoff: capped at 5 s (kafkajs' default cap
    // is 30 s, which kept the service paused up to half a minute after the broker was back).
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 8 },
  });

  let joinedGroup = false;
  let failing = false;
  let stopping = false;
  let resolveJoined!: () => void;
  const joined = new Promise<void>((resolve) => (resolveJoined = resolve));
  let resolveCrashed!: (error: Error) => void;
  const crashed = new Promise<Error>((resolve) => (resolveCrashed = resolve));
  // Wakes a backoff wait early when stop() is called, so shutdown never waits out a retry delay.
  let wakeBackoff: (() => void) | undefined;

  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedGroup = true;
    resolveJoined();
  });
  consumer.on(consumer.events.REBALANCING, () => telemetry.emit('consumer.rebalance', { groupId }));
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    telemetry.emit('consumer.crash', { groupId, error: error.name, restart });
    if (!restart && !stopping) {
      log.error({ err: error }, 'consumer crashed and will not restart');
      resolveCrashed(error);
    } else log.warn({ err: error }, 'consumer crashed; the Kafka client restarts it');
  });

  async function backoff(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeBackoff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wakeBackoff = undefined;
  }

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: true,
    autoCommitInterval: 1000,
    autoCommitThreshold: 5000,
    // Batches of different partitions overlap (one waits on Redis while another is scored); a partition's own
    // batches never do, so per-card order holds. Offsets are still resolved per partition, only for finished chunks.
    partitionsConsumedConcurrently: options.concurrentPartitions ?? 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      telemetry.emit('consumer.batch', { topic: batch.topic, partition: batch.partition, size: batch.messages.length, lag: Number(batch.offsetLag()) });
      for (let start = 0; start < batch.messages.length; start += chunkSize) {
        if (!isRunning() || isStale()) return;
        const chunk = batch.messages.slice(start, start + chunkSize).map((m) => toConsumed(batch.topic, batch.partition, m));
        let delay = retryInitialMs;
        for (let attempt = 1; ; attempt++) {
          try {
            await handler(chunk);
            break;
          } catch (error) {
            if (!isRetriable(error)) throw error;
            if (!failing) {
              failing = true;
              telemetry.emit('consumer.paused', { reason: (error as Error).name });
              log.warn({ err: error }, 'dependency failing: holding the chunk and retrying with backoff');
            }
            if (!isRunning() || isStale()) return; // not resolved: redelivered after the restart or rebalance
            telemetry.emit('consumer.retry', { attempt, delayMs: delay, reason: (error as Error).name });
            await backoff(delay);
            delay = Math.min(retryMaxMs, delay * 2);
            await heartbeat(); // keeps the membership; throws on a rebalance, which abandons the chunk
          }
        }
        if (failing) {
          failing = false;
          telemetry.emit('consumer.resumed', {});
          log.info('dependency back: consuming again');
        }
        // A revoked partition's chunk is not resolved: its new owner reprocesses it (idempotently).
        if (isStale()) return;
        resolveOffset(chunk[chunk.length - 1].offset);
        await heartbeat();
        await commitOffsetsIfNecessary();
      }
    },
  });

  return {
    isHealthy: () => joinedGroup && !failing,
    joined,
    crashed,
    async stop() {
      stopping = true;
      wakeBackoff?.();
      await consumer.disconnect(); // stops fetching, awaits the batch in flight, commits resolved offsets, leaves
    },
  };
}
