/**
 * No PAN leaves the service except where the design keeps original bytes. The real pipeline (in-process, real broker
 * and Redis) takes transactions and labels carrying PANs — in the pan field, in Kafka keys (banks key by card), in
 * unknown free-text fields, and in invalid messages of every dead-letter reason — and then every log line, every
 * Redis key and value under the service's prefix, every alert and scores-topic record (key, value, headers), every
 * metric and every dead-letter header is scanned for the PANs sent and for any Luhn-valid 12–19 digit run.
 *
 * Excepted by design (README, "Card identity"): a dead letter's key and value are the original bytes (a PAN among
 * them), with only sensitive authentication data removed; the test asserts that they do hold PANs, so the exception
 * is known rather than assumed.
 */
import Redis from 'ioredis';
import { Writable } from 'node:stream';
import { startService, type RunningService } from '../../../src/service';
import { Telemetry } from '../../../src/telemetry/events';
import { createLogger } from '../../../src/telemetry/logger';
import { collect, produceAll, testKafka, type CollectedMessage, type Collector } from '../../support/kafka';
import { prepareNames, serviceOverrides, type TestNames } from '../../support/service';
import { asKafkaMessage, cardStream, localTimestamp, testPan, transaction } from '../../support/traffic';
import { deleteKeysWithPrefix, stackAddresses } from '../../support/env';
import { findPans, jsonTexts } from '../../support/pan-scan';

const T0 = Date.parse('2026-11-30T06:00:00Z');
const CARDS = 40;

describe('PAN scan of everything the pipeline leaves behind', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  const logLines: string[] = [];
  const telemetry = new Telemetry();
  let labelsRecorded = 0;
  telemetry.on('state.label', () => labelsRecorded++);
  let names: TestNames;
  let service: RunningService;
  let alerts: Collector;
  let scores: Collector;
  let dlq: Collector;

  const sentPans = Array.from({ length: CARDS + 1 }, (_, i) => testPan(i + 1));
  // Card 1 bursts (alerts with masked PANs); the others shop. Half keyed by PAN as a bank's producer may do.
  const valid = [
    ...cardStream(1, 8, T0, 60_000, 'scan-burst'),
    ...Array.from({ length: CARDS - 1 }, (_, i) => cardStream(i + 2, 3, T0, 3600_000, 'scan')).flat(),
  ];
  // Unknown fields are ignored by the contract; a PAN in one must not travel on with the transaction.
  valid.push({ ...transaction(CARDS + 1, 'scan-note', T0), note: `customer read out ${testPan(CARDS + 1)} on the phone` } as never);
  const invalid = [
    { key: testPan(1), value: `not json at all, card ${testPan(1)}` },
    { key: testPan(2), value: JSON.stringify({ ...transaction(2, 'bad-types', T0), amount: 'a lot' }) },
    { key: testPan(3), value: JSON.stringify({ ...transaction(3, 'spaced-pan', T0), pan: testPan(3).replace(/(\d{4})/g, '$1 ').trim() }) },
    { key: testPan(4), value: JSON.stringify({ ...transaction(4, 'numeric-pan', T0), pan: Number(testPan(4)) }) },
    { key: testPan(5), value: JSON.stringify({ ...transaction(5, 'huge', T0), city: 'x'.repeat(100_000) }) },
    { key: testPan(6), value: JSON.stringify([transaction(6, 'array', T0)]) },
    { key: testPan(7), value: Buffer.concat([Buffer.from(`{"pan":"${testPan(7)}","x":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]) },
    { key: testPan(8), value: JSON.stringify({ ...transaction(8, 'cvv', T0), cvv: '123', amount: -5 }) },
    { key: testPan(9), value: JSON.stringify({ ...transaction(9, 'both', T0), cardId: testPan(9) }) },
  ].map((m) => ({ ...m, headers: { source: 'pos-gateway-7' } }));
  const labels = valid.slice(0, 10).map((t, i) => ({
    key: t.pan!,
    value: JSON.stringify({ transactionId: t.transactionId, pan: t.pan, label: i % 2 ? 'genuine' : 'fraud', reportedAt: localTimestamp(T0 + 86_400_000), source: 'chargeback' }),
  }));

  beforeAll(async () => {
    names = await prepareNames('pan-scan');
    [alerts, scores, dlq] = await Promise.all([collect(kafka, names.alertsTopic), collect(kafka, names.scoresTopic), collect(kafka, names.dlqTopic)]);
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(...String(chunk).split('\n').filter((l) => l !== ''));
        done();
      },
    });
    service = await startService({
      env: {},
      telemetry,
      overrides: serviceOverrides(names, { logLevel: 'debug' }),
      logger: createLogger({ level: 'debug', destination }),
    });
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([alerts, scores, dlq].map((c) => c?.stop()));
    await deleteKeysWithPrefix(redis, names.redisKeyPrefix);
    redis.disconnect();
  });

  it('finds no PAN in logs, Redis, alerts, scores, metrics or dead-letter headers', async () => {
    const byPan = valid.map((t, i) => (i % 2 ? asKafkaMessage(t) : { key: t.pan!, value: JSON.stringify(t) }));
    await produceAll(kafka, names.transactionsTopic, [...byPan.slice(0, 5), ...invalid, ...byPan.slice(5)]);
    await produceAll(kafka, names.labelsTopic, labels);
    await scores.waitFor((ms) => ms.length >= valid.length, 'every decision');
    await dlq.waitFor((ms) => ms.length >= invalid.length, 'every dead letter');
    await alerts.waitFor((ms) => ms.length > 0, 'an alert');
    await new Promise<void>((resolve) => {
      const check = () => labelsRecorded >= labels.length && (off(), resolve());
      const off = telemetry.on('state.label', check);
      check();
    });
    const metricsText = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();

    const found: Record<string, string[]> = {};
    const scan = (where: string, texts: string[]) => {
      const hits = texts.flatMap((text) => findPans(text, sentPans));
      if (hits.length > 0) found[where] = [...(found[where] ?? []), ...hits];
    };

    // Logs: every line is JSON; `time` is epoch milliseconds, not data. (At debug the service logs its start-up and
    // warnings, not each message: few lines, all scanned.)
    expect(logLines.some((l) => l.includes('card-shield started'))).toBe(true);
    for (const line of logLines) scan('log', jsonTexts(JSON.parse(line), new Set(['time'])));

    // Redis: every key under the prefix and every value, read as bytes. Sorted-set scores are event times.
    const keys: Buffer[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scanBuffer(cursor, 'MATCH', `${names.redisKeyPrefix}*`, 'COUNT', 1000);
      cursor = String(next);
      keys.push(...batch);
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(CARDS);
    const types = new Set<string>();
    for (const key of keys) {
      const type = await redis.type(key);
      types.add(type);
      let values: Buffer[];
      if (type === 'string') values = [(await redis.getBuffer(key)) ?? Buffer.alloc(0)];
      else if (type === 'hash') values = Object.entries(await redis.hgetallBuffer(key)).flatMap(([field, value]) => [Buffer.from(field), value]);
      else if (type === 'zset') values = await redis.zrangeBuffer(key, '0', '-1');
      else if (type === 'set') values = await redis.smembersBuffer(key);
      else if (type === 'list') values = await redis.lrangeBuffer(key, '0', '-1');
      else if (type === 'stream') values = (await redis.xrangeBuffer(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
      else throw new Error(`key ${key.toString('latin1')} has type ${type}, which this scan does not read`);
      scan('redis', [key.toString('latin1'), ...values.map((v) => v.toString('latin1'))]);
    }

    const records = (where: string, messages: CollectedMessage[]) => {
      for (const m of messages) {
        scan(`${where} key`, [m.key ?? '']);
        scan(`${where} headers`, Object.entries(m.headers).flat());
        scan(`${where} value`, jsonTexts(JSON.parse(String(m.value))));
      }
    };
    records('alerts', alerts.messages);
    records('scores', scores.messages);
    scan('metrics', metricsText.split('\n'));
    for (const m of dlq.messages) scan('dead-letter headers', Object.entries(m.headers).flat());

    expect(found).toEqual({});
    // What was scanned really held the traces of PANs: masked PANs in the alerts, and the original bytes (and keys)
    // in the dead letters, which are the documented exception.
    expect(alerts.messages.some((m) => String(m.value).includes(`${testPan(1).slice(0, 6)}******${testPan(1).slice(-4)}`))).toBe(true);
    expect(dlq.messages.filter((m) => findPans(`${m.key} ${m.value?.toString('latin1')}`, sentPans).length > 0)).toHaveLength(invalid.length);
    expect(types.size).toBeGreaterThan(1);
  });
});
