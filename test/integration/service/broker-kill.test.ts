/**
 * The broker stopped mid-stream and started again (a broker of the test's own; the service in-process, state in the
 * shared Redis), two ways: SIGKILL and a restart about 30 s later (a crash), and SIGTERM, wait for the controlled
 * shutdown to finish, start at once (a rolling restart, with one broker). The service must pause and report not
 * ready while the broker is gone, resume by itself when it is back, decide every transaction, count each exactly
 * once, keep every alert id bound to one transaction, card and type, never republish an alert id with other content
 * (the suppressor's memo), and dead-letter nothing. The time from the broker's return to
 * readiness and to the last decision is printed (README, "Tests").
 */
import Redis from 'ioredis';
import { startService, type RunningService } from '../../../src/service';
import { createLogger } from '../../../src/telemetry/logger';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { startKafkaBroker, type KafkaBroker } from '../../support/kafka-broker';
import { deleteKeysWithPrefix } from '../../support/env';
import { prepareNames, readinessUntil, serviceOverrides, type TestNames } from '../../support/service';
import { asKafkaMessage } from '../../support/traffic';
import { alertIdProblems, bulkTraffic, countsPerCard, distinctDecided, republishedChanges } from '../../support/verify';

interface Scenario {
  /** The label of the printed figures. */
  tag: string;
  what: string;
  stop: (broker: KafkaBroker) => Promise<void>;
  /** How long the broker stays down after the stop returned (the operator's pause), 0 for at once. */
  outageMs: number;
}

const SCENARIOS: Scenario[] = [
  { tag: 'broker-kill', what: 'the broker killed mid-stream and restarted', stop: (b) => b.kill(), outageMs: 30_000 },
  { tag: 'broker-restart', what: 'the broker restarted gracefully mid-stream (SIGTERM, exit, start)', stop: (b) => b.terminate(), outageMs: 0 },
];

describe.each(SCENARIOS)('$what', ({ tag, stop, outageMs }) => {
  let broker: KafkaBroker;
  let redis: Redis;
  let names: TestNames;
  let service: RunningService | undefined;
  let scores: Collector;
  let alerts: Collector;
  let dlq: Collector;
  /** The step the scenario is in: printed when it does not finish, since jest's timeout names none. */
  let step = 'setup';

  beforeAll(async () => {
    broker = await startKafkaBroker();
    redis = new Redis(process.env.REDIS_URL!);
    names = await prepareNames(tag, 3, [broker.address]);
    const kafka = testKafka([broker.address]);
    [scores, alerts, dlq] = await Promise.all([collect(kafka, names.scoresTopic), collect(kafka, names.alertsTopic), collect(kafka, names.dlqTopic)]);
  });

  afterAll(async () => {
    if (step !== 'done') process.stderr.write(`${tag}: did not finish; it was at "${step}"\n`);
    await service?.stop();
    await Promise.all([scores, alerts, dlq].map((c) => c?.stop().catch(() => undefined)));
    await broker?.stop();
    await deleteKeysWithPrefix(redis, names.redisKeyPrefix, 1000);
    redis.disconnect();
  });

  it('pauses while the broker is gone, resumes when it returns, and loses or doubles nothing', async () => {
    const traffic = bulkTraffic(2000, 10, Date.parse('2026-11-30T00:00:00Z'), 'bk');
    const total = traffic.messages.length;
    step = 'producing the traffic';
    await produceAll(testKafka([broker.address]), names.transactionsTopic, traffic.messages.map(asKafkaMessage), 2000);
    const overrides = serviceOverrides(names, { modelDir: 'none', chunkSize: 250 });
    step = 'starting the service';
    service = await startService({ env: {}, overrides: { ...overrides, kafkaBrokers: [broker.address] }, logger: createLogger({ level: 'fatal' }) });
    let fatal: Error | undefined;
    void service.fatal.then((e) => (fatal = e));
    await readinessUntil(service.port, (status) => status === 200, 'ready', 180_000);

    step = 'waiting for a quarter of the decisions';
    await scores.waitFor((ms) => distinctDecided(ms).size >= total / 4, 'a quarter of the decisions');
    const killedAt = Date.now();
    // Readiness is watched while the broker stops: a graceful shutdown can be over before a poll after it would see it.
    const notReady = readinessUntil(service.port, (status) => status !== 200, 'not ready after the stop', 180_000);
    step = 'stopping the broker';
    await stop(broker);
    step = 'waiting for not ready';
    const stoppedAfter = Date.now() - killedAt;
    await notReady;
    const notReadyAfter = Date.now() - killedAt;
    // The outage itself is the scenario (an operator restarting a broker half a minute later), not a wait for a
    // condition: what follows waits on conditions only.
    await new Promise((r) => setTimeout(r, Math.max(0, outageMs - (Date.now() - killedAt))));
    step = 'restarting the broker';
    await broker.restart();
    const backAt = Date.now();
    step = 'waiting for ready after the restart';
    await readinessUntil(service.port, (status) => status === 200, 'ready after the restart', 180_000);
    const readyAfter = Date.now() - backAt;
    step = `waiting for all ${total} decisions (${distinctDecided(scores.messages).size} so far when ready)`;
    await scores.waitFor((ms) => distinctDecided(ms).size === total, `all ${total} decided`, 240_000);
    const doneAfter = Date.now() - backAt;
    process.stderr.write(
      `${tag}: broker exited ${stoppedAfter} ms after the signal; not ready ${notReadyAfter} ms after it; broker back after ${backAt - killedAt} ms; ready ${readyAfter} ms and every transaction decided ${doneAfter} ms after the broker answered; ${scores.messages.length - total} decisions redelivered\n`,
    );

    expect(fatal).toBeUndefined();
    const counts = await countsPerCard(redis, names.redisKeyPrefix, traffic);
    expect([...counts].filter(([, count]) => count !== traffic.perCard)).toEqual([]);
    expect(alerts.messages.length).toBeGreaterThan(0);
    expect(alertIdProblems(alerts.messages)).toEqual([]);
    // An alert id always names the same transaction, card and type, and says the same about it: a redelivered
    // transaction is rescored on the state as it is by then, but its alert is republished from the memo.
    const changed = republishedChanges(alerts.messages);
    process.stderr.write(
      `${tag}: ${alerts.messages.length} alert records, ${new Set(alerts.messages.map((m) => m.headers['alert-id'])).size} alert ids; republished with other content: ${
        Object.entries(changed).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'
      }\n`,
    );
    expect(changed).toEqual({});
    expect(dlq.messages).toHaveLength(0);
    step = 'done';
    // A 30 s outage, two broker starts and a service start, each slower on CI's two loaded cores; every wait above
    // has its own budget and names itself.
  }, 420_000);
});
