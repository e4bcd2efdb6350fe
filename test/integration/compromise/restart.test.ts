/**
 * Warned once per point, across a crash: the service runs as its own process and is SIGKILLed as soon as its first
 * card-at-risk alert reaches the topic (mid-detection: the other warnings and the marks may or may not be written),
 * then a new instance takes over the labels. Every exposed card ends up with exactly one warning id, and every copy
 * of an id carries the same warning.
 */
import Redis from 'ioredis';
import type { ChildProcess } from 'node:child_process';
import type { AlertMessage } from '../../../src/contract/schemas';
import { startService, type RunningService } from '../../../src/service';
import { createLogger } from '../../../src/telemetry/logger';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { exited, prepareNames, serviceEnv, serviceOverrides, spawnService, type TestNames } from '../../support/service';
import { asKafkaMessage, testToken } from '../../support/traffic';
import { deleteKeysWithPrefix, stackAddresses } from '../../support/env';
import { SKIMMED_CARDS, EXPOSED_CARDS, asLabelMessage, scenario } from './support';

const parse = (m: { value: Buffer | null }) => JSON.parse(String(m.value)) as AlertMessage;
/** What must be the same in every copy of one alert id (createdAt is when that copy was made). */
const content = ({ createdAt: _createdAt, ...rest }: AlertMessage) => JSON.stringify(rest);

describe('compromise detection across a crash', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  const world = scenario('crash-cpp');
  let names: TestNames;
  let alerts: Collector;
  let scores: Collector;
  let child: ChildProcess | undefined;
  let service: RunningService | undefined;
  let stderr = '';

  beforeAll(async () => {
    names = await prepareNames('cpp-crash'); // short: REDIS_KEY_PREFIX is at most 32 characters
    [alerts, scores] = await Promise.all([collect(kafka, names.alertsTopic), collect(kafka, names.scoresTopic)]);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await service?.stop();
    await Promise.all([alerts, scores].map((c) => c?.stop()));
    await deleteKeysWithPrefix(redis, names.redisKeyPrefix);
    redis.disconnect();
  });

  it('warns each exposed card once, with one id and one content, after a SIGKILL mid-detection', async () => {
    // Produced before the service starts: a new consumer group starts from the beginning only when it has no offsets.
    await produceAll(kafka, names.transactionsTopic, world.transactions.map(asKafkaMessage), 2000);
    child = spawnService(serviceEnv(names, { MODEL_DIR: 'none', KAFKA_SESSION_TIMEOUT_MS: '6000' }));
    child.stderr?.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-4000)));
    const exitedEarly = exited(child).then((code) => Promise.reject(new Error(`the service exited (${code}): ${stderr}`)));
    await Promise.race([scores.waitFor((ms) => ms.length >= world.transactions.length, 'every transaction decided'), exitedEarly]);
    await produceAll(kafka, names.labelsTopic, world.labels.map(asLabelMessage));
    await Promise.race([alerts.waitFor((ms) => ms.some((m) => m.headers['alert-type'] === 'card-at-risk'), 'a first warning'), exitedEarly]);
    exitedEarly.catch(() => undefined); // from here on, the exit is ours
    child.kill('SIGKILL');
    expect(await exited(child)).toBeNull();

    service = await startService({ env: {}, overrides: serviceOverrides(names, { modelDir: 'none', kafkaSessionTimeoutMs: 6000 }), logger: createLogger({ level: 'warn' }) });
    const warnedCards = () => new Set(alerts.messages.map(parse).filter((a) => a.type === 'card-at-risk').map((a) => a.cardToken));
    await alerts.waitFor(() => EXPOSED_CARDS.every((card) => warnedCards().has(testToken(card))), 'the exposed cards warned', 120_000);

    const warnings = alerts.messages.map(parse).filter((a) => a.type === 'card-at-risk');
    const idsPerCard = new Map<string, Set<string>>();
    for (const w of warnings) idsPerCard.set(w.cardToken!, (idsPerCard.get(w.cardToken!) ?? new Set()).add(w.alertId));
    // The skimmed cards not reported as fraud, and perhaps victims whose label came after the warnings (once each).
    const skimmed = new Set(SKIMMED_CARDS.map(testToken));
    expect([...idsPerCard.keys()].every((t) => skimmed.has(t))).toBe(true);
    expect([...idsPerCard.values()].every((ids) => ids.size === 1)).toBe(true);
    const contentOf = new Map<string, string>();
    for (const alert of alerts.messages.map(parse)) {
      const known = contentOf.get(alert.alertId);
      if (known === undefined) contentOf.set(alert.alertId, content(alert));
      else expect(content(alert)).toBe(known);
    }
    // The labels come in a chunk per partition, so the window may grow (a new alert id per window): always the skimmer.
    const points = alerts.messages.map(parse).filter((a) => a.type === 'compromised-point');
    expect(points.length).toBeGreaterThan(0);
    expect(new Set(points.map((a) => a.findingId)).size).toBe(1);
  });
});
