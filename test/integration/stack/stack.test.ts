import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { connectProducer, createKafka, ensureTopics } from '../../../src/kafka/client';
import { loadConfig } from '../../../src/config/load';
import { stackAddresses, uniqueName } from '../../support/env';

describe('the development stack', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();

  it('round-trips a message through the real Kafka broker with an acknowledged produce', async () => {
    const topic = uniqueName('stack-smoke');
    const kafka = createKafka({ ...loadConfig({}), kafkaBrokers, kafkaClientId: 'stack-test' });
    await ensureTopics(kafka, [{ topic, numPartitions: 2 }]);
    const producer = await connectProducer(kafka);
    await producer.send(topic, [{ key: 'card-1', value: JSON.stringify({ hello: 'kafka' }) }]);
    await producer.disconnect();

    const consumer = new Kafka({ brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueName('stack-smoke-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) });
    });
    await consumer.disconnect();
    expect(JSON.parse(received)).toEqual({ hello: 'kafka' });
  });

  it('writes and reads the real Redis', async () => {
    const redis = new Redis(redisUrl);
    const key = uniqueName('stack-smoke');
    await redis.set(key, 'ok', 'EX', 60);
    expect(await redis.get(key)).toBe('ok');
    await redis.del(key);
    redis.disconnect();
  });
});
