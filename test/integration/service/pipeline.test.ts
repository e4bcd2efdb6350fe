/**
 * The service end to end, in-process, on the real broker and Redis: transactions in, alerts and decisions out,
 * garbage to the dead-letter topic, redeliveries changing nothing.
 */
import Redis from 'ioredis';
import { startService, type RunningService } from '../../../src/service';
import { createDecoder } from '../../../src/contract/validate';
import { AlertV1, type AlertMessage } from '../../../src/contract/schemas';
import { createRedisStore } from '../../../src/state/redis-store';
import { FEATURE_INDEX } from '../../../src/state/features';
import { toCardTransaction } from '../../../src/contract/transaction';
import { cardTokenizer } from '../../../src/contract/card';
import { createLogger } from '../../../src/telemetry/logger';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { prepareNames, serviceOverrides, TEST_HMAC_KEY, type TestNames } from '../../support/service';
import { asKafkaMessage, cardStream, testPan, testToken, transaction } from '../../support/traffic';
import { deleteKeysWithPrefix, stackAddresses } from '../../support/env';

const T0 = Date.parse('2026-11-30T06:00:00Z');
const decodeAlert = createDecoder<AlertMessage>(AlertV1);
const parse = <T>(m: { value: Buffer | null }) => JSON.parse(String(m.value)) as T;

describe('the scoring service on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  let names: TestNames;
  let service: RunningService;
  let alerts: Collector;
  let scores: Collector;
  let dlq: Collector;

  // Card 1 bursts (8 transactions in 7 minutes: the 10-minute velocity rule); card 2 shops normally.
  const burst = cardStream(1, 8, T0, 60_000, 'burst');
  const calm = cardStream(2, 3, T0, 3 * 3600_000, 'calm');
  const garbage = [
    { key: 'g1', value: Buffer.from('this is not json') },
    { key: 'g2', value: JSON.stringify({ ...transaction(3, 'bad-types', T0), amount: 'a lot', channel: 'fax' }) },
    { key: 'g3', value: JSON.stringify({ ...transaction(3, 'huge', T0), city: 'x'.repeat(200_000) }) },
    { key: 'g4', value: Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x9f]) },
    { key: 'g5', value: JSON.stringify({ ...transaction(3, 'with-cvv', T0), amount: -1, cvv: '123' }) },
  ];

  beforeAll(async () => {
    names = await prepareNames('pipeline');
    [alerts, scores, dlq] = await Promise.all([collect(kafka, names.alertsTopic), collect(kafka, names.scoresTopic), collect(kafka, names.dlqTopic)]);
    service = await startService({ env: {}, overrides: serviceOverrides(names, { modelDir: 'none' }), logger: createLogger({ level: 'warn' }) });
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([alerts, scores, dlq].map((c) => c?.stop()));
    await deleteKeysWithPrefix(redis, names.redisKeyPrefix);
    redis.disconnect();
  });

  it('scores every valid transaction, alerts the burst with its reason, and dead-letters the garbage', async () => {
    await produceAll(kafka, names.transactionsTopic, [...burst.slice(0, 4), ...garbage, ...burst.slice(4), ...calm].map((m) => ('transactionId' in m ? asKafkaMessage(m) : m)));
    await scores.waitFor((ms) => ms.length >= burst.length + calm.length, 'every decision');
    await dlq.waitFor((ms) => ms.length >= garbage.length, 'every dead letter');

    const decided = new Set(scores.messages.map((m) => parse<{ transactionId: string }>(m).transactionId));
    expect(decided).toEqual(new Set([...burst, ...calm].map((t) => t.transactionId)));

    await alerts.waitFor((ms) => ms.length > 0, 'an alert');
    const published = alerts.messages.map((m) => parse<AlertMessage>(m));
    for (const alert of published) expect(decodeAlert(JSON.stringify(alert)).ok).toBe(true);
    expect(published.every((a) => a.cardToken === testToken(1))).toBe(true);
    const velocity = published.find((a) => a.reasons.some((r) => r.code === 'CARD_VELOCITY_10M'));
    expect(velocity).toBeDefined();
    expect(velocity!.maskedPan).toBe(`${testPan(1).slice(0, 6)}******${testPan(1).slice(-4)}`);
    // Alerts are keyed by card token, and no PAN appears anywhere in them.
    expect(alerts.messages.every((m) => m.key === testToken(1))).toBe(true);
    expect(alerts.messages.some((m) => String(m.value).includes(testPan(1)))).toBe(false);

    const reasons = dlq.messages.map((m) => m.headers['dlq-reason']).sort();
    expect(reasons).toEqual(['invalid_json', 'invalid_utf8', 'schema', 'schema', 'too_large']);
    for (const m of dlq.messages) {
      expect(m.headers['dlq-source-topic']).toBe(names.transactionsTopic);
      expect(Number(m.headers['dlq-source-partition'])).toBeGreaterThanOrEqual(0);
      expect(m.headers['dlq-source-offset']).toMatch(/^\d+$/);
      expect(m.headers['dlq-error'].length).toBeGreaterThan(0);
    }
    const withCvv = dlq.messages.find((m) => m.key === 'g5')!;
    expect(withCvv.headers['dlq-redacted']).toBe('true');
    expect(JSON.parse(String(withCvv.value))).not.toHaveProperty('cvv');
    expect(dlq.messages.find((m) => m.key === 'g1')!.value).toEqual(Buffer.from('this is not json'));
  });

  it('changes nothing when the same transactions are delivered again, and republishes the same alert ids', async () => {
    const alertIdsBefore = new Set(alerts.messages.map((m) => parse<AlertMessage>(m).alertId));
    const decisionsBefore = scores.messages.length;
    await produceAll(kafka, names.transactionsTopic, [...burst, ...calm].map(asKafkaMessage));
    await scores.waitFor((ms) => ms.length >= decisionsBefore + burst.length + calm.length, 'the redelivered decisions');

    const alertIdsAfter = new Set(alerts.messages.map((m) => parse<AlertMessage>(m).alertId));
    expect(alertIdsAfter).toEqual(alertIdsBefore);

    // The state counted each transaction once: a probe one minute after the burst sees its 8 + itself.
    const probeStore = createRedisStore(redis, { keyPrefix: names.redisKeyPrefix });
    const tokenize = cardTokenizer(TEST_HMAC_KEY);
    const probes = [transaction(1, 'probe-1', T0 + 8 * 60_000), transaction(2, 'probe-2', T0 + 9 * 3600_000)].map((m) => toCardTransaction(m, tokenize, 'KZT'));
    const [card1, card2] = await probeStore.applyBatch(probes);
    expect(card1.features[FEATURE_INDEX['card.count_10m']]).toBe(9);
    expect(card1.features[FEATURE_INDEX['card.count_24h']]).toBe(9);
    expect(card2.features[FEATURE_INDEX['card.count_24h']]).toBe(4);
  });
});
