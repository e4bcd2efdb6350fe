/**
 * Test-side Kafka helpers (tests may use kafkajs directly; the service reaches it only through src/kafka and
 * src/consumer): a collector that reads a topic from the beginning and lets a test wait on a condition over what it
 * has seen, and a bulk producer.
 */
import { Kafka, logLevel, type Consumer, type IHeaders } from 'kafkajs';
import { createTopicsWithLeaders } from '../../src/kafka/client';
import { uniqueName } from './env';

export interface CollectedMessage {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

export interface Collector {
  messages: CollectedMessage[];
  /** Resolves once `predicate(messages)` holds; rejects after `timeoutMs` with what was seen. */
  waitFor(predicate: (messages: CollectedMessage[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function testKafka(brokers: string[]): Kafka {
  return new Kafka({ brokers, clientId: 'test', logLevel: logLevel.NOTHING });
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (value !== undefined) out[name] = String(value);
  return out;
}

export async function collect(kafka: Kafka, topic: string): Promise<Collector> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('collector'), maxWaitTimeInMs: 50 });
  const messages: CollectedMessage[] = [];
  const waiters = new Set<() => void>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        messages.push({ key: m.key ? m.key.toString() : null, value: m.value, headers: headersOf(m.headers), partition: batch.partition, offset: m.offset });
      }
      for (const wake of waiters) wake();
    },
  });
  return {
    messages,
    waitFor(predicate, what, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(messages)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} on ${topic} (${messages.length} messages seen)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    stop: () => consumer.disconnect(),
  };
}

export async function produceAll(
  kafka: Kafka,
  topic: string,
  messages: Array<{ key: string | null; value: string | Buffer; headers?: IHeaders }>,
  batchSize = 1000,
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += batchSize) {
      await producer.send({ topic, messages: messages.slice(i, i + batchSize), acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

export async function createTopics(kafka: Kafka, topics: string[], numPartitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopicsWithLeaders(admin, topics.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })));
  } finally {
    await admin.disconnect();
  }
}
