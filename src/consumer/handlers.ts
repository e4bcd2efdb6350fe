/**
 * The chunk handlers the batch consumer runs: raw messages in, every side effect acknowledged out. Invalid messages
 * go to the dead-letter topic in the same awaited step as the alerts, so a chunk is either wholly done or redone.
 */
import type { CompromiseDetector } from '../compromise/detector';
import type { CardLabel, CardTransaction } from '../contract/transaction';
import type { OutgoingMessage, TopicProducer } from '../kafka/client';
import type { MessageDecoders } from '../scoring/ingest';
import { formatErrors } from '../scoring/ingest';
import { scoreChunk, type ScoringDependencies } from '../scoring/pipeline';
import type { FeatureStore } from '../state/store';
import type { Telemetry } from '../telemetry/events';
import type { Logger } from '../telemetry/logger';
import type { ChunkHandler, ConsumedMessage } from './batch-consumer';
import { deadLetterRecord } from './dead-letter';

interface Split<T> {
  valid: T[];
  deadLetters: OutgoingMessage[];
}

function split<T>(
  messages: ConsumedMessage[],
  decode: (bytes: Buffer | null) => { ok: true; value: T } | { ok: false; reason: string; errors: Array<{ path: string; message: string }> },
  telemetry: Telemetry,
): Split<T> {
  const valid: T[] = [];
  const deadLetters: OutgoingMessage[] = [];
  const now = Date.now();
  for (const message of messages) {
    const decoded = decode(message.value);
    if (decoded.ok) valid.push(decoded.value);
    else {
      deadLetters.push(deadLetterRecord(message, { code: decoded.reason, detail: formatErrors(decoded.errors) }, now));
      telemetry.emit('consumer.message_invalid', { topic: message.topic, reason: decoded.reason });
    }
  }
  return { valid, deadLetters };
}

export function transactionChunkHandler(deps: {
  decoders: MessageDecoders;
  scoring: ScoringDependencies;
  producer: TopicProducer;
  dlqTopic: string;
  telemetry: Telemetry;
  logger: Logger;
}): ChunkHandler {
  return async (messages) => {
    const { valid, deadLetters } = split<CardTransaction>(messages, (bytes) => deps.decoders.transaction(bytes), deps.telemetry);
    await Promise.all([scoreChunk(deps.scoring, valid), deps.producer.send(deps.dlqTopic, deadLetters)]);
  };
}

export function labelChunkHandler(deps: {
  decoders: MessageDecoders;
  store: FeatureStore;
  /** Compromise detection runs on the labels once the state has them; its alerts are acknowledged before the commit. */
  detector?: CompromiseDetector;
  producer: TopicProducer;
  dlqTopic: string;
  telemetry: Telemetry;
}): ChunkHandler {
  return async (messages) => {
    const { valid, deadLetters } = split<CardLabel>(messages, (bytes) => deps.decoders.label(bytes), deps.telemetry);
    // The store reports each label's outcome itself ('state.label').
    const [outcomes] = await Promise.all([deps.store.recordLabels(valid), deps.producer.send(deps.dlqTopic, deadLetters)]);
    // A redelivered chunk finds its labels 'duplicate' and runs detection again: it is idempotent, and a crash may
    // have stopped the first run between its alerts and its marks.
    if (deps.detector !== undefined && valid.length > 0) await deps.detector.onLabels(valid, outcomes);
  };
}
