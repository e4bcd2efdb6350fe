/**
 * Crash safety: the service runs as its own process and is SIGKILLed at random points while 50,000 transactions
 * flow, then restarted, again and again. Afterwards every transaction was scored at least once, the state counted
 * each exactly once, and every alert id is unique per transaction and type.
 */
import Redis from 'ioredis';
import type { ChildProcess } from 'node:child_process';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { exited, prepareNames, serviceEnv, spawnService, type TestNames } from '../../support/service';
import { asKafkaMessage } from '../../support/traffic';
import { alertIdProblems, bulkTraffic, countsPerCard, distinctDecided, republishedChanges, type BulkTraffic } from '../../support/verify';
import { deleteKeysWithPrefix, stackAddresses } from '../../support/env';

const KILLS = 5;

describe('crash safety under SIGKILL', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  let names: TestNames;
  let traffic: BulkTraffic;
  let scores: Collector;
  let alerts: Collector;
  let child: ChildProcess | undefined;
  let stderr = '';

  beforeAll(async () => {
    names = await prepareNames('crash', 6);
    traffic = bulkTraffic(5000, 10, Date.parse('2026-11-30T00:00:00Z'), 'crash');
    [scores, alerts] = await Promise.all([collect(kafka, names.scoresTopic), collect(kafka, names.alertsTopic)]);
    await produceAll(kafka, names.transactionsTopic, traffic.messages.map(asKafkaMessage), 2000);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await Promise.all([scores?.stop(), alerts?.stop()]);
    await deleteKeysWithPrefix(redis, names.redisKeyPrefix, 1000);
    redis.disconnect();
  });

  function start(): ChildProcess {
    const started = spawnService(serviceEnv(names, { MODEL_DIR: 'none', CHUNK_SIZE: '250', KAFKA_SESSION_TIMEOUT_MS: '6000' }));
    started.stderr?.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-4000)));
    return started;
  }

  it('scores everything at least once and counts everything exactly once', async () => {
    const total = traffic.messages.length;
    const t0 = Date.now();
    const progress: string[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let kill = 0; kill < KILLS; kill++) {
      const seenBefore = scores.messages.length;
      // Kill after a random number of new decisions: mid-chunk, mid-produce or mid-commit, wherever it lands.
      const killAfter = seenBefore + 1000 + Math.floor(random() * 6000);
      child = start();
      await scores.waitFor((ms) => ms.length >= killAfter || distinctDecided(ms).size === total, `decision ${killAfter} (kill ${kill + 1}); stderr: ${stderr}`);
      child.kill('SIGKILL');
      expect(await exited(child)).toBeNull(); // killed, not exited on its own
      progress.push(`kill ${kill + 1} at ${scores.messages.length} decisions, ${Date.now() - t0} ms`);
    }
    child = start();
    await scores.waitFor((ms) => distinctDecided(ms).size === total, `all ${total} transactions decided; stderr: ${stderr}`, 240_000);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    progress.push(`all decided and stopped at ${Date.now() - t0} ms`);
    process.stderr.write(`crash-safety: ${progress.join('; ')}\n`);

    expect(distinctDecided(scores.messages).size).toBe(total);
    expect(scores.messages.length).toBeGreaterThan(total); // the kills really caused redeliveries
    const counts = await countsPerCard(redis, names.redisKeyPrefix, traffic);
    const wrong = [...counts].filter(([, count]) => count !== traffic.perCard);
    expect(wrong).toEqual([]);
    expect(alerts.messages.length).toBeGreaterThan(0);
    expect(alertIdProblems(alerts.messages)).toEqual([]);
    // Redelivered after a kill, an alert is republished as first published (the suppressor's memo).
    expect(republishedChanges(alerts.messages)).toEqual({});
  });
});
