import { decodeLabel, decodeTransaction } from '../../../src/contract/validate';
import { loadConfig } from '../../../src/config/load';
import { connectProducer, createKafka, ensureTopics } from '../../../src/kafka/client';
import { createSimulation, type SimOptionsInput } from '../../../src/sim';
import { drive } from '../../../src/sim/output/drive';
import { wireLine } from '../../../src/sim/lines';
import { stackAddresses, uniqueName } from '../../support/env';
import { collect, testKafka, type CollectedMessage } from '../../support/kafka';

/** A small run with enough fraud and wrongly reported transactions that the labels topic carries traffic too. */
const RUN: SimOptionsInput = { seed: 21, days: 3, customers: 200, fraudRates: { 'card-testing': 60 }, labels: { falseReportRate: 0.02, unreportedShare: 0 } };

describe('simulator output to Kafka', () => {
  const { kafkaBrokers } = stackAddresses();
  const transactionsTopic = uniqueName('sim-transactions');
  const labelsTopic = uniqueName('sim-labels');
  const kafka = createKafka({ ...loadConfig({}), kafkaBrokers, kafkaClientId: 'sim-test' });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [transactionsTopic, labelsTopic] });
    await admin.disconnect();
  });

  it('produces every transaction and label keyed by card reference, each card on one partition', async () => {
    await ensureTopics(kafka, [
      { topic: transactionsTopic, numPartitions: 3 },
      { topic: labelsTopic, numPartitions: 3 },
    ]);
    const producer = await connectProducer(kafka);
    const simulation = createSimulation(RUN);
    const result = await drive(simulation, { kafka: { producer, transactionsTopic, labelsTopic }, batchSize: 250 });
    await producer.disconnect();
    expect(result.transactions).toBeGreaterThan(1000);
    expect(result.labels).toBeGreaterThan(20);

    // The same seed gives the same messages: the expected topic contents, keyed by card reference.
    const expectedTransactions = new Map<string, string>();
    const expectedLabels = new Map<string, string>();
    for (const event of createSimulation(RUN)) (event.kind === 'transaction' ? expectedTransactions : expectedLabels).set(wireLine(event), event.cardRef);

    const reader = testKafka(kafkaBrokers);
    const [transactions, labels] = await Promise.all([collect(reader, transactionsTopic), collect(reader, labelsTopic)]);
    try {
      await transactions.waitFor((m) => m.length >= result.transactions, `${result.transactions} transactions`);
      await labels.waitFor((m) => m.length >= result.labels, `${result.labels} labels`);

      const check = (messages: CollectedMessage[], expected: Map<string, string>, decode: typeof decodeTransaction | typeof decodeLabel) => {
        expect(messages).toHaveLength(expected.size);
        const partitionOfCard = new Map<string, number>();
        for (const message of messages) {
          const value = String(message.value);
          expect(expected.get(value)).toBe(message.key);
          expect(decode(value).ok).toBe(true);
          const partition = partitionOfCard.get(message.key!);
          if (partition === undefined) partitionOfCard.set(message.key!, message.partition);
          else expect(message.partition).toBe(partition);
        }
        return partitionOfCard;
      };
      const transactionPartitions = check(transactions.messages, expectedTransactions, decodeTransaction);
      const labelPartitions = check(labels.messages, expectedLabels, decodeLabel);
      // Keys are references, never PANs; and with equal partition counts a card's labels sit on its transactions' partition.
      for (const key of transactionPartitions.keys()) expect(key).toMatch(/^card-\d+$/);
      expect(new Set(transactionPartitions.values()).size).toBeGreaterThan(1);
      for (const [card, partition] of labelPartitions) expect(transactionPartitions.get(card)).toBe(partition);
    } finally {
      await Promise.all([transactions.stop(), labels.stop()]);
    }
  });
});
