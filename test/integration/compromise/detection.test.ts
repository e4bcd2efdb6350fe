/**
 * Compromise detection end to end on the real broker and Redis: labels in, a compromised-point alert and one
 * card-at-risk alert per exposed card out, with deterministic ids and reasons in words; the same labels again change
 * nothing; bad labels are counted and warn nobody; a warned card's later online purchase scores higher than an
 * unwarned card's identical one.
 */
import Redis from 'ioredis';
import { cardAtRiskAlertId, compromisedPointAlertId } from '../../../src/compromise/alerts';
import { createDecoder } from '../../../src/contract/validate';
import { AlertV1, type AlertMessage } from '../../../src/contract/schemas';
import { namedListKey } from '../../../src/state/keys';
import { startService, type RunningService } from '../../../src/service';
import { Telemetry } from '../../../src/telemetry/events';
import { createLogger } from '../../../src/telemetry/logger';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { prepareNames, serviceOverrides, type TestNames } from '../../support/service';
import { asKafkaMessage, testToken } from '../../support/traffic';
import { deleteKeysWithPrefix, stackAddresses } from '../../support/env';
import { SKIMMED_CARDS, SKIMMER, EXPOSED_CARDS, T0, UNEXPOSED_CARD, asLabelMessage, badLabels, laterPurchase, scenario } from './support';

const decodeAlert = createDecoder<AlertMessage>(AlertV1);
const parse = <T>(m: { value: Buffer | null }) => JSON.parse(String(m.value)) as T;

describe('compromise detection on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  const telemetry = new Telemetry();
  const world = scenario('cpp');
  let names: TestNames;
  let service: RunningService;
  let alerts: Collector;
  let scores: Collector;
  let labelsSeen = 0;
  let ignored = 0;
  let exposedCards = 0;
  let warnedCount = Number.POSITIVE_INFINITY;
  telemetry.on('compromise.labels', (e) => (labelsSeen += e.labels));
  telemetry.on('compromise.label_ignored', () => ignored++);
  telemetry.on('compromise.exposures_loaded', (e) => (exposedCards = e.cards));

  /** Resolves once `predicate` holds; checked on every telemetry event that could change it. */
  function until(predicate: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const offs: Array<() => void> = [];
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        offs.forEach((off) => off());
        if (error) reject(error);
        else resolve();
      };
      const check = () => predicate() && done();
      offs.push(telemetry.on('compromise.labels', check), telemetry.on('compromise.exposures_loaded', check), telemetry.on('compromise.evaluated', check));
      check();
    });
  }

  /** The collector has read the alerts topic up to its end: what the service published so far is in `alerts`. */
  async function caughtUpWithAlerts(): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(names.alertsTopic);
    await admin.disconnect();
    const end = offsets.reduce((sum, p) => sum + Number(p.high), 0);
    await alerts.waitFor((ms) => ms.length >= end, `the alerts topic's ${end} messages`);
  }

  const published = () => alerts.messages.map((m) => parse<AlertMessage>(m));

  beforeAll(async () => {
    names = await prepareNames('compromise');
    [alerts, scores] = await Promise.all([collect(kafka, names.alertsTopic), collect(kafka, names.scoresTopic)]);
    service = await startService({ env: {}, telemetry, overrides: serviceOverrides(names, { modelDir: 'none' }), logger: createLogger({ level: 'warn' }) });
    await produceAll(kafka, names.transactionsTopic, world.transactions.map(asKafkaMessage), 2000);
    await scores.waitFor((ms) => ms.length >= world.transactions.length, 'every transaction decided');
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([alerts, scores].map((c) => c?.stop()));
    await deleteKeysWithPrefix(redis, names.redisKeyPrefix);
    redis.disconnect();
  });

  it('finds the skimmed terminal from its victims and warns every other card seen there', async () => {
    await produceAll(kafka, names.labelsTopic, world.labels.map(asLabelMessage));
    await until(() => labelsSeen >= world.labels.length, 'detection on the labels');
    await caughtUpWithAlerts();

    for (const alert of published()) expect(decodeAlert(JSON.stringify(alert)).ok).toBe(true);
    // The labels arrive in a chunk per partition: the finding may be made on the first chunks and its window grow with
    // the next, each growth a new alert that supersedes the last.
    const points = published().filter((a) => a.type === 'compromised-point');
    expect(new Set(points.map((p) => `${p.point!.kind}:${p.point!.id}`))).toEqual(new Set([`terminal:${SKIMMER.terminalId}`])); // its merchant: explained by the terminal
    points.forEach((p, i) => {
      expect(p.revision).toBe(i + 1);
      expect(p.findingId).toBe(points[0].findingId);
      if (i > 0) expect(p.supersedes).toBe(points[i - 1].alertId);
    });
    const point = points[points.length - 1];
    expect(point.alertId).toBe(compromisedPointAlertId(`terminal:${SKIMMER.terminalId}`, Date.parse(point.window!.from), Date.parse(point.window!.until)));
    expect(point.reasons[0].code).toBe('COMMON_POINT_OF_PURCHASE');
    expect(point.reasons[0].message).toMatch(new RegExp(`^\\d of 40 cards seen at terminal ${SKIMMER.terminalId} between 2026-11-02 and 2026-11-07 were later defrauded; about 0\\.\\d+ expected`));
    expect(point.evidence!.victims).toBeGreaterThanOrEqual(5);
    expect(point.window!.from).toBe(new Date(T0).toISOString());
    expect(point.evidence!.pValue).toBeLessThanOrEqual(1e-5);

    // Every skimmed card not reported as fraud is warned; a victim whose label came in a later chunk than the warnings
    // may have been warned too (it was not known as a victim yet), once.
    const warned = published().filter((a) => a.type === 'card-at-risk');
    const skimmed = new Set(SKIMMED_CARDS.map(testToken));
    const warnedCards = warned.map((a) => a.cardToken!);
    expect(new Set(warnedCards).size).toBe(warnedCards.length);
    expect(warnedCards.every((t) => skimmed.has(t))).toBe(true);
    expect(warnedCards).toEqual(expect.arrayContaining(EXPOSED_CARDS.map(testToken)));
    warnedCount = warnedCards.length;
    for (const alert of warned) {
      expect(alert.alertId).toBe(cardAtRiskAlertId(alert.cardToken!, `terminal:${SKIMMER.terminalId}`));
      expect(alert.findingId).toBe(point.findingId);
      expect(alert.recommendation).toMatch(/^(reissue|monitor)$/);
      expect(Date.parse(alert.exposedAt!)).toBeGreaterThanOrEqual(Date.parse(point.window!.from));
      expect(Date.parse(alert.exposedAt!)).toBeLessThan(Date.parse(point.window!.until));
      expect(alert.reasons[0].message).toContain(`the card was at terminal ${SKIMMER.terminalId} on 2026-11-0`);
    }
    // Keyed by card token (card-at-risk) or point (compromised-point), never a PAN.
    expect(alerts.messages.filter((m) => m.headers['alert-type'] === 'card-at-risk').every((m) => /^[0-9a-f]{64}$/.test(m.key ?? ''))).toBe(true);
    expect(await redis.sismember(namedListKey(names.redisKeyPrefix, 'compromised_terminals'), SKIMMER.terminalId)).toBe(1);
  });

  it('publishes nothing new when the same labels come again', async () => {
    const before = alerts.messages.length;
    const labelsBefore = labelsSeen;
    await produceAll(kafka, names.labelsTopic, world.labels.map(asLabelMessage));
    await until(() => labelsSeen >= labelsBefore + world.labels.length, 'detection on the redelivered labels');
    await caughtUpWithAlerts();
    expect(alerts.messages.length).toBe(before);
  });

  it('counts bad labels and warns nobody for them', async () => {
    const before = alerts.messages.length;
    const labelsBefore = labelsSeen;
    const bad = badLabels('cpp', world.reportedAtMs);
    await produceAll(kafka, names.labelsTopic, bad.map(asLabelMessage));
    await until(() => labelsSeen >= labelsBefore + bad.length, 'detection on the bad labels');
    await caughtUpWithAlerts();
    expect(ignored).toBe(bad.length);
    expect(alerts.messages.length).toBe(before);
  });

  it('scores a warned card’s later online purchase higher than the same purchase on an unwarned card', async () => {
    await until(() => exposedCards >= warnedCount, 'the warnings in the exposure index');
    const exposed = laterPurchase(20, 'cpp-later-exposed'); // mid-window: inside any window the victims give
    const unexposed = laterPurchase(UNEXPOSED_CARD, 'cpp-later-unexposed');
    await produceAll(kafka, names.transactionsTopic, [exposed, unexposed].map(asKafkaMessage));
    const decision = (id: string) => scores.messages.map((m) => parse<{ transactionId: string; score: number; reasons: string[] }>(m)).find((d) => d.transactionId === id);
    await scores.waitFor(() => decision(exposed.transactionId) !== undefined && decision(unexposed.transactionId) !== undefined, 'both later decisions');
    expect(decision(exposed.transactionId)!.reasons).toContain('EXPOSED_CARD_RISKY_USE');
    expect(decision(unexposed.transactionId)!.reasons).not.toContain('EXPOSED_CARD_RISKY_USE');
    expect(decision(exposed.transactionId)!.score).toBeGreaterThan(decision(unexposed.transactionId)!.score);
  });
});
