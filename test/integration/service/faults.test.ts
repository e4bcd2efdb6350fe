/**
 * Faults with the service in-process: Redis going away for ~10 s mid-stream (a Redis this test started itself,
 * with an append-only file so a restart keeps the state), and one of three instances in a group stopping
 * mid-stream. In both cases every transaction is scored, counted exactly once, and alert ids stay unique.
 */
import Redis from 'ioredis';
import { startService, type RunningService } from '../../../src/service';
import { createLogger } from '../../../src/telemetry/logger';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { startRedisServer, removeServerDir, type RedisServer } from '../../support/redis-cluster';
import { prepareNames, serviceOverrides, type TestNames } from '../../support/service';
import { asKafkaMessage } from '../../support/traffic';
import { alertIdProblems, bulkTraffic, countsPerCard, distinctDecided } from '../../support/verify';
import { deleteKeysWithPrefix, stackAddresses } from '../../support/env';

const quiet = () => createLogger({ level: 'fatal' });

async function readiness(service: RunningService): Promise<number> {
  return (await fetch(`http://127.0.0.1:${service.port}/readyz`)).status;
}

describe('Redis unavailable mid-stream', () => {
  const kafka = testKafka(stackAddresses().kafkaBrokers);
  let redisServer: RedisServer;
  let names: TestNames;
  let service: RunningService | undefined;
  let scores: Collector;
  let alerts: Collector;

  beforeAll(async () => {
    redisServer = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    names = await prepareNames('redis-outage', 3);
    [scores, alerts] = await Promise.all([collect(kafka, names.scoresTopic), collect(kafka, names.alertsTopic)]);
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([scores?.stop(), alerts?.stop()]);
    await redisServer?.stop();
    if (redisServer) removeServerDir(redisServer);
  });

  it('pauses, reports not ready, resumes when Redis returns, and loses or doubles nothing', async () => {
    const traffic = bulkTraffic(2000, 10, Date.parse('2026-11-30T00:00:00Z'), 'outage');
    await produceAll(kafka, names.transactionsTopic, traffic.messages.map(asKafkaMessage), 2000);
    service = await startService({ env: {}, overrides: serviceOverrides(names, { modelDir: 'none', redisUrl: redisServer.url, chunkSize: 200 }), logger: quiet() });
    let retries = 0;
    let paused = 0;
    let resumed = 0;
    service.telemetry.on('consumer.retry', () => retries++);
    service.telemetry.on('consumer.paused', () => paused++);
    service.telemetry.on('consumer.resumed', () => resumed++);

    await scores.waitFor((ms) => ms.length >= 3000, 'the first 3,000 decisions');
    await redisServer.stop();
    // Six failed attempts with the consumer's backoff (0.2, 0.4, 0.8, 1.6, 3.2, 5 s) keep Redis away ~11 s.
    await new Promise<void>((resolve) => {
      const off = service!.telemetry.on('consumer.retry', (e) => {
        if (e.attempt >= 6) {
          off();
          resolve();
        }
      });
    });
    expect(paused).toBe(1);
    expect(await readiness(service)).toBe(503);
    const decidedDuringOutage = distinctDecided(scores.messages).size;

    await redisServer.restart();
    await scores.waitFor((ms) => distinctDecided(ms).size === traffic.messages.length, 'every transaction decided after Redis returned');
    expect(resumed).toBe(1);
    expect(retries).toBeGreaterThanOrEqual(6);
    expect(decidedDuringOutage).toBeLessThan(traffic.messages.length);
    expect(await readiness(service)).toBe(200);

    const redis = new Redis(redisServer.url);
    const counts = await countsPerCard(redis, names.redisKeyPrefix, traffic);
    redis.disconnect();
    expect([...counts].filter(([, c]) => c !== traffic.perCard)).toEqual([]);
    expect(alertIdProblems(alerts.messages)).toEqual([]);
  });
});

describe('three instances in one group, one stopped mid-stream', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  let names: TestNames;
  const services: RunningService[] = [];
  let scores: Collector;
  let alerts: Collector;

  beforeAll(async () => {
    names = await prepareNames('three', 6);
    [scores, alerts] = await Promise.all([collect(kafka, names.scoresTopic), collect(kafka, names.alertsTopic)]);
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all([scores?.stop(), alerts?.stop()]);
    await deleteKeysWithPrefix(redis, names.redisKeyPrefix, 1000);
    redis.disconnect();
  });

  it('shares the partitions, takes over the stopped one’s, and loses or doubles nothing', async () => {
    const traffic = bulkTraffic(3000, 10, Date.parse('2026-11-30T00:00:00Z'), 'three');
    for (let i = 0; i < 3; i++) {
      services.push(await startService({ env: {}, overrides: serviceOverrides(names, { modelDir: 'none', chunkSize: 200, kafkaSessionTimeoutMs: 6000 }), logger: quiet() }));
    }
    const decidedBy = services.map(() => 0);
    services.forEach((s, i) => s.telemetry.on('scorer.decision', () => decidedBy[i]++));
    await produceAll(kafka, names.transactionsTopic, traffic.messages.map(asKafkaMessage), 2000);

    await scores.waitFor((ms) => ms.length >= 8000, 'the first 8,000 decisions');
    await services[0].stop();
    await scores.waitFor((ms) => distinctDecided(ms).size === traffic.messages.length, 'every transaction decided by the two left');

    expect(decidedBy.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    const counts = await countsPerCard(redis, names.redisKeyPrefix, traffic);
    expect([...counts].filter(([, c]) => c !== traffic.perCard)).toEqual([]);
    expect(alertIdProblems(alerts.messages)).toEqual([]);
  });
});
