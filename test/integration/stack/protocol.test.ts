/**
 * Which Kafka protocol versions kafkajs 2.2.4 speaks, against the broker it runs on (3.9 or 4.x: STACK_KAFKA_VERSION).
 * Kafka 4.0 removed the protocol versions older than Kafka 2.1's (KIP-896); a client that still sends one gets
 * UNSUPPORTED_VERSION or a closed connection. Every request kind the service makes (admin, idempotent producer,
 * consumer group with manual commits, offsets) is exercised here with kafkajs' request instrumentation on, and each
 * version sent is checked against the range the broker itself advertises (an ApiVersions v0 request on a raw
 * socket, independent of kafkajs). The table is printed for the README.
 */
import { Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { createTopicsWithLeaders } from '../../../src/kafka/client';
import { stackAddresses, uniqueName } from '../../support/env';

interface Range {
  min: number;
  max: number;
}

/** ApiVersions v0 (key 18): the broker's supported [min, max] per API key. */
function brokerApiVersions(address: string): Promise<Map<number, Range>> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const clientId = Buffer.from('protocol-test');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // api key
  body.writeInt16BE(0, 2); // api version
  body.writeInt32BE(1, 4); // correlation id
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const frame = Buffer.concat([Buffer.alloc(4), body]);
  frame.writeInt32BE(body.length, 0);
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      socket.destroy();
      const errorCode = received.readInt16BE(8);
      if (errorCode !== 0) return reject(new Error(`ApiVersions error ${errorCode}`));
      const count = received.readInt32BE(10);
      const ranges = new Map<number, Range>();
      for (let i = 0, at = 14; i < count; i++, at += 6) ranges.set(received.readInt16BE(at), { min: received.readInt16BE(at + 2), max: received.readInt16BE(at + 4) });
      resolve(ranges);
    });
    socket.connect(port, host, () => socket.write(frame));
  });
}

describe('the Kafka protocol versions kafkajs uses', () => {
  const { kafkaBrokers } = stackAddresses();

  it('sends only versions the broker supports, for every request kind the service makes', async () => {
    const kafka = new Kafka({ brokers: kafkaBrokers, clientId: 'protocol-test', logLevel: logLevel.NOTHING });
    const sent = new Map<string, { key: number; versions: Set<number> }>();
    type RequestEvent = { payload: { apiKey: number; apiName: string; apiVersion: number } };
    const record = (event: RequestEvent) => {
      const entry = sent.get(event.payload.apiName) ?? { key: event.payload.apiKey, versions: new Set<number>() };
      entry.versions.add(event.payload.apiVersion);
      sent.set(event.payload.apiName, entry);
    };
    const topic = uniqueName('protocol');
    const groupId = `${topic}.group`;
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
    admin.on(admin.events.REQUEST, record);
    producer.on(producer.events.REQUEST, record);
    consumer.on(consumer.events.REQUEST, record);
    try {
      await admin.connect();
      await createTopicsWithLeaders(admin, [{ topic, numPartitions: 2, replicationFactor: 1 }]);
      await admin.fetchTopicOffsets(topic);
      await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false });
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: 'x' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve) => {
        void consumer.run({
          // As the service's consumer: manual resolve, commits when commitOffsetsIfNecessary sees the threshold.
          autoCommitThreshold: 1,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
            for (const m of batch.messages) resolveOffset(m.offset);
            await commitOffsetsIfNecessary();
            await heartbeat();
            if (batch.messages.length > 0) resolve();
          },
        });
      });
      expect(await admin.fetchOffsets({ groupId, topics: [topic] })).toEqual([
        { topic, partitions: expect.arrayContaining([expect.objectContaining({ offset: '1' })]) },
      ]);
      await admin.describeGroups([groupId]);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }

    const ranges = await brokerApiVersions(kafkaBrokers[0]);
    const rows = [...sent].sort(([a], [b]) => a.localeCompare(b)).map(([name, { key, versions }]) => {
      const range = ranges.get(key);
      const used = [...versions].sort((a, b) => a - b);
      return { name, key, used, range, ok: range !== undefined && used.every((v) => v >= range.min && v <= range.max) };
    });
    process.stderr.write(
      `kafkajs on Kafka ${process.env.STACK_KAFKA_VERSION ?? '?'}: ` +
        rows.map((r) => `${r.name} v${r.used.join('/')} (broker ${r.range ? `${r.range.min}–${r.range.max}` : 'none'})`).join(', ') +
        // Not exercised here (the stack has no SASL listener): what the broker would accept for them.
        `; not exercised: SaslHandshake (broker ${[17].map((k) => `${ranges.get(k)?.min}–${ranges.get(k)?.max}`)}), SaslAuthenticate (broker ${[36].map((k) => `${ranges.get(k)?.min}–${ranges.get(k)?.max}`)})\n`,
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((r) => !r.ok)).toEqual([]);
  });
});
