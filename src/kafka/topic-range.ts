/**
 * Reads a time range of a topic once, for offline tools (the backtest): each partition from the first offset whose
 * Kafka timestamp is at or after `fromMs` (the earliest kept without it) up to, not including, the first offset at
 * or after `toMs` (the end as of the start of the read without it). Kafka timestamps are the producer's (CreateTime
 * by default): for a live stream, when the bank sent the transaction.
 *
 * A throwaway consumer group that never commits: reading leaves no trace on the topic's real consumers, and the
 * group is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { BrokerError, NonRetriableError } from '../errors';

export interface TopicRange {
  fromMs?: number;
  toMs?: number;
}

export interface TopicRecord {
  partition: number;
  offset: string;
  value: Buffer | null;
}

type PartitionOffsets = Array<{ partition: number; offset: string }>;

/** Every record of the range, partition by partition in offset order (partitions interleave as fetched). */
export async function readTopicRange(kafka: Kafka, topic: string, range: TopicRange = {}): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let bounds: Map<number, { start: bigint; end: bigint; next: bigint }>;
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new NonRetriableError(`topic ${topic} does not exist`);
    const watermarks = await admin.fetchTopicOffsets(topic);
    const at = async (ms: number | undefined, fallback: 'low' | 'high'): Promise<PartitionOffsets> =>
      ms === undefined ? watermarks.map((p) => ({ partition: p.partition, offset: p[fallback] })) : admin.fetchTopicOffsetsByTimestamp(topic, ms);
    const [starts, ends] = await Promise.all([at(range.fromMs, 'low'), at(range.toMs, 'high')]);
    bounds = new Map(
      starts.map((s) => {
        const start = BigInt(s.offset);
        return [s.partition, { start, next: start, end: BigInt(ends.find((e) => e.partition === s.partition)!.offset) }];
      }),
    );
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...bounds].filter(([, b]) => b.start < b.end).map(([p]) => p));
  const records: TopicRecord[] = [];
  if (pending.size === 0) return records;

  const groupId = `card-shield-offline-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(new BrokerError(`reading ${topic} failed: ${payload.error.message}`, payload.error));
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const bound = bounds.get(batch.partition)!;
        if (!pending.has(batch.partition)) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          // `next`: a fetch from before the seek and the seek's own fetch may overlap; each offset is kept once.
          if (offset >= bound.next && offset < bound.end) {
            records.push({ partition: batch.partition, offset: m.offset, value: m.value });
            bound.next = offset + 1n;
          }
        }
        // lastOffset covers control records and compacted gaps, which no message stands for.
        if (BigInt(batch.lastOffset()) >= bound.end - 1n) {
          pending.delete(batch.partition);
          if (pending.size === 0) finish();
        }
      },
    });
    // Where each partition starts; a batch fetched before the seek takes effect is filtered by the bounds above.
    for (const partition of pending) consumer.seek({ topic, partition, offset: String(bounds.get(partition)!.start) });
    await done;
  } finally {
    await consumer.disconnect();
    await deleteGroup(kafka, groupId);
  }
  return records;
}

async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]);
  } finally {
    await admin.disconnect();
  }
}
