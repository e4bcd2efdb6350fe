/**
 * Runs a simulation into its outputs: NDJSON files and/or Kafka topics, optionally at a steady message rate. The
 * only I/O around the pure simulator; the CLI, the benchmark and the integration test all drive through here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutgoingMessage, TopicProducer } from '../../kafka/client';
import type { Simulation } from '../simulator';
import { pointTruthLine, transactionTruthLines, wireLine } from '../lines';
import type { NdjsonFileWriter } from './ndjson-file';
import { TokenBucket } from './token-bucket';

export interface KafkaTarget {
  producer: TopicProducer;
  transactionsTopic: string;
  labelsTopic: string;
}

export interface DriveProgress {
  transactions: number;
  labels: number;
  /** Simulated time reached, epoch ms. */
  simTimeMs: number;
  elapsedMs: number;
}

export interface DriveOptions {
  transactionsFile?: NdjsonFileWriter;
  labelsFile?: NdjsonFileWriter;
  truthFile?: NdjsonFileWriter;
  kafka?: KafkaTarget;
  /** Messages (transactions and labels) per second; 0 or absent: as fast as the outputs take them. */
  ratePerSecond?: number;
  /** Messages per Kafka send (and per pacing step). */
  batchSize?: number;
  onProgress?: (progress: DriveProgress) => void;
  /** Checked between batches; true ends the run early (files and Kafka are still flushed). */
  shouldStop?: () => boolean;
  now?: () => number;
}

export interface DriveResult {
  transactions: number;
  labels: number;
  elapsedMs: number;
  stoppedEarly: boolean;
}

const PROGRESS_EVERY = 8192;

export async function drive(simulation: Simulation, options: DriveOptions): Promise<DriveResult> {
  const now = options.now ?? (() => performance.now());
  const { transactionsFile, labelsFile, truthFile, kafka } = options;
  const rate = options.ratePerSecond ?? 0;
  // At a set rate, send about twenty batches a second so the stream is smooth rather than bursty.
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 1000, rate > 0 ? Math.ceil(rate / 20) : Number.POSITIVE_INFINITY));
  const startedAt = now();
  // Room for one batch plus a quarter second of late timers (a busy event loop): lateness is made up, not lost.
  const bucket = rate > 0 ? new TokenBucket(rate, batchSize + rate / 4, startedAt) : undefined;
  let transactionBatch: OutgoingMessage[] = [];
  let labelBatch: OutgoingMessage[] = [];
  let inBatch = 0;
  let transactions = 0;
  let labels = 0;
  let simTimeMs = 0;
  let stoppedEarly = false;
  /**
   * The batch on its way to Kafka. The next batch is generated while it travels and is sent only once it is
   * acknowledged: one send in flight keeps the order, and generation no longer waits on the broker's round trip.
   */
  let inFlight: Promise<void> | undefined;

  const produce = async (kafkaTarget: KafkaTarget, txns: OutgoingMessage[], lbls: OutgoingMessage[]) => {
    // Transactions first: a label is never produced before the transaction it is about.
    await kafkaTarget.producer.send(kafkaTarget.transactionsTopic, txns);
    await kafkaTarget.producer.send(kafkaTarget.labelsTopic, lbls);
  };

  const sendBatch = async () => {
    if (bucket !== undefined) {
      const delay = bucket.delayMs(inBatch, now());
      if (delay > 0) await sleep(delay);
      bucket.take(inBatch, now());
    }
    if (kafka !== undefined) {
      if (inFlight !== undefined) await inFlight;
      inFlight = produce(kafka, transactionBatch, labelBatch);
      // Observed here so a failure is never an unhandled rejection; it is raised where `inFlight` is awaited.
      inFlight.catch(() => undefined);
      transactionBatch = [];
      labelBatch = [];
    }
    inBatch = 0;
  };

  // `writeLine` returns a promise only under backpressure; awaiting only then keeps millions of lines off the
  // microtask queue.
  let wait: Promise<void> | undefined;

  for (const event of simulation) {
    const line = wireLine(event);
    simTimeMs = event.atMs;
    if (event.kind === 'transaction') {
      transactions++;
      if (transactionsFile !== undefined && (wait = transactionsFile.writeLine(line))) await wait;
      if (truthFile !== undefined && (event.truth !== undefined || event.exposedTo !== undefined)) {
        for (const truthLine of transactionTruthLines(event)) if ((wait = truthFile.writeLine(truthLine))) await wait;
      }
      // Keyed by the simulator's card reference, not the PAN: one card stays on one partition (per-card order for
      // the consumer) while no PAN ever sits in a Kafka key, where brokers, tools and logs show keys in clear.
      if (kafka !== undefined) transactionBatch.push({ key: event.cardRef, value: line });
    } else {
      labels++;
      if (labelsFile !== undefined && (wait = labelsFile.writeLine(line))) await wait;
      if (kafka !== undefined) labelBatch.push({ key: event.cardRef, value: line });
    }
    if (++inBatch >= batchSize && (kafka !== undefined || bucket !== undefined)) {
      await sendBatch();
      if (options.shouldStop?.()) {
        stoppedEarly = true;
        break;
      }
    }
    if ((transactions + labels) % PROGRESS_EVERY === 0) {
      options.onProgress?.({ transactions, labels, simTimeMs, elapsedMs: now() - startedAt });
      if (kafka === undefined && bucket === undefined && options.shouldStop?.()) {
        stoppedEarly = true;
        break;
      }
    }
  }
  if (inBatch > 0) await sendBatch();
  if (inFlight !== undefined) await inFlight;
  // Points last: a breach's window ends when it has stolen its cards, which only the run itself tells.
  if (truthFile !== undefined) for (const point of simulation.compromisedPoints) if ((wait = truthFile.writeLine(pointTruthLine(point)))) await wait;
  await Promise.all([transactionsFile?.close(), labelsFile?.close(), truthFile?.close()]);
  const elapsedMs = now() - startedAt;
  options.onProgress?.({ transactions, labels, simTimeMs, elapsedMs });
  return { transactions, labels, elapsedMs, stoppedEarly };
}
