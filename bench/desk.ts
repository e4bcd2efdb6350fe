/**
 * `npm run bench:desk`: how fast the fraud desk takes in decisions, and how fast its queue page answers.
 *
 *   (a) decisions/s into PostgreSQL through the desk's own consumer: N scores-topic messages preloaded on a real
 *       broker (started if needed, like the tests), then the desk's consumers started with an empty database;
 *       timed from start until every row is written (the figure that must keep up with the scorer)
 *   (b) the same batched upsert (DESK_BATCH_SIZE rows per statement) without Kafka, on PostgreSQL and on PGlite,
 *       and again with every row a duplicate (a redelivery)
 *   (c) GET /desk/ (the whole queue page: list, facet counts, charts) with 100,000 alerts and as many decisions
 *       stored, signed in, on PostgreSQL and PGlite: median and p95 of 30 loads after 3 warm-ups
 *
 *   npm run bench:desk -- [--decisions 200000] [--alerts 100000] [--batch 2000] [--partitions 3]
 *
 * PostgreSQL is DESK_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), in a schema of its own
 * that is dropped at the end. Writes bench/results/desk.json. Figures depend on what else the machine is doing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import express from 'express';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { loadConfig } from '../src/config/load';
import { startDesk } from '../src/desk';
import type { Db } from '../src/desk/db';
import { migrate } from '../src/desk/migrate';
import { alertRow, decisionRow, type AlertRow, type DecisionRow } from '../src/desk/records';
import { createRepository } from '../src/desk/repository';
import { hashPassword } from '../src/desk/users';
import { connectProducer, createKafka, createTopicsWithLeaders } from '../src/kafka/client';
import { createMessageDecoders } from '../src/scoring/ingest';
import { Telemetry } from '../src/telemetry/events';
import { createLogger } from '../src/telemetry/logger';
import { pgliteDatabase, postgresSchema } from '../test/support/desk';

const { values: args } = parseArgs({
  options: {
    decisions: { type: 'string', default: '200000' },
    alerts: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '2000' },
    partitions: { type: 'string', default: '3' },
  },
});
const root = join(__dirname, '..');
const N = Number(args.decisions);
const ALERTS = Number(args.alerts);
const BATCH = Number(args.batch);
const REASONS = ['CARD_VELOCITY_10M', 'AMOUNT_SPIKE', 'IMPOSSIBLE_TRAVEL', 'FIRST_HIGH_RISK_MCC_CNP', 'CARD_TESTING_SMALL_AMOUNTS', 'ATM_NIGHT_CASH_OUT', 'MODEL_FEATURE'];
const T0 = Date.parse('2026-02-01T00:00:00Z');
const logger = createLogger({ level: 'error' });

/** A deterministic stream of scores-topic records: 20,000 cards, one in fifty alerted. */
function decisionRecord(i: number): Record<string, unknown> {
  const card = (i * 7919) % 20000;
  const alerted = i % 50 === 0;
  const score = alerted ? 0.5 + ((i * 37) % 500) / 1000 : ((i * 13) % 1000) / 5000;
  return {
    transactionId: `bench-${i}`,
    cardToken: card.toString(16).padStart(64, '0'),
    timestamp: new Date(T0 + i * 600).toISOString(),
    score,
    action: alerted ? (score > 0.85 ? 'block' : 'review') : 'allow',
    reasons: alerted ? [REASONS[i % REASONS.length], REASONS[(i >> 3) % REASONS.length]] : i % 9 === 0 ? [REASONS[i % 4]] : [],
    rulesVersion: '2026-11-30.3',
    ...(alerted ? { alertId: `alert-${i}` } : {}),
    maskedPan: `400000******${String(card).padStart(4, '0').slice(-4)}`,
    amount: 500 + ((i * 131) % 90000),
    currency: 'KZT',
    merchantId: `m-${i % 3000}`,
    terminalId: `t-${i % 3000}-1`,
    mcc: '5411',
    country: i % 40 === 0 ? 'TR' : 'KZ',
    channel: i % 5 === 0 ? 'ecom' : 'pos',
  };
}

function alertMessage(i: number): Record<string, unknown> {
  const d = decisionRecord(i * 50);
  const type = i % 20 === 0 ? 'card-at-risk' : i % 500 === 0 ? 'compromised-point' : 'transaction';
  return {
    alertId: `alert-${i * 50}`,
    type,
    transactionId: d.transactionId,
    timestamp: d.timestamp,
    createdAt: d.timestamp,
    cardToken: d.cardToken,
    maskedPan: d.maskedPan,
    score: d.score,
    action: d.action === 'allow' ? 'review' : d.action,
    reasons: (d.reasons as string[]).map((code) => ({ code, message: `${code} fired` })),
    rulesVersion: d.rulesVersion,
    ...(type !== 'transaction' ? { point: { kind: 'terminal', id: d.terminalId }, findingId: `f-${i % 97}`, revision: 1 } : {}),
  };
}

const rowsOf = <T>(n: number, make: (i: number) => Record<string, unknown>, read: (m: unknown) => T | { invalid: string }): T[] =>
  Array.from({ length: n }, (_, i) => {
    const row = read(make(i));
    if (typeof row === 'object' && row !== null && 'invalid' in row) throw new Error(String((row as { invalid: string }).invalid));
    return row as T;
  });

async function upsertRate(db: Db, rows: DecisionRow[]): Promise<{ fresh: number; duplicates: number }> {
  const repo = createRepository(db);
  const time = async () => {
    const started = performance.now();
    for (let i = 0; i < rows.length; i += BATCH) await repo.upsertDecisions(rows.slice(i, i + BATCH));
    return rows.length / ((performance.now() - started) / 1000);
  };
  return { fresh: await time(), duplicates: await time() };
}

async function pageLoad(db: Db): Promise<{ medianMs: number; p95Ms: number; partialMedianMs: number; bytes: number }> {
  const repo = createRepository(db);
  const alerts = rowsOf<AlertRow>(ALERTS, alertMessage, alertRow);
  for (let i = 0; i < alerts.length; i += BATCH) await repo.upsertAlerts(alerts.slice(i, i + BATCH));
  const decisions = rowsOf<DecisionRow>(ALERTS, decisionRecord, decisionRow);
  for (let i = 0; i < decisions.length; i += BATCH) await repo.upsertDecisions(decisions.slice(i, i + BATCH));
  await db.exec('ANALYZE');
  const config = loadConfig({}, { deskUsers: `bench:analyst:${await hashPassword('bench-password', { N: 1024, r: 8, p: 1 })}` });
  const desk = await startDesk({
    config,
    mode: 'embedded',
    logger,
    telemetry: new Telemetry(),
    decoders: createMessageDecoders({ panHmacKey: Buffer.alloc(32), defaultCurrency: 'KZT', maxMessageBytes: 65536 }),
    rulesVersion: () => 'bench',
    recordLabelsInState: async () => undefined,
    db,
  });
  const app = express();
  app.use('/desk', desk.router);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/desk`;
  try {
    const login = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ user: 'bench', password: 'bench-password' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const load = async (path: string) => {
      const started = performance.now();
      const response = await fetch(`${base}${path}`, { headers: { cookie } });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
      return { ms: performance.now() - started, bytes: body.length };
    };
    const series = async (path: string) => {
      for (let i = 0; i < 3; i++) await load(path);
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 30; i++) {
        const r = await load(path);
        times.push(r.ms);
        bytes = r.bytes;
      }
      times.sort((a, b) => a - b);
      return { median: times[15], p95: times[28], bytes };
    };
    const full = await series('/');
    const partial = await series('/?partial=1');
    return { medianMs: full.median, p95Ms: full.p95, partialMedianMs: partial.median, bytes: full.bytes };
  } finally {
    server.close();
    await desk.stop();
  }
}

async function throughKafka(): Promise<{ decisionsPerSecond: number; writingSeconds: number; seconds: number; withGroupJoinPerSecond: number }> {
  execFileSync('bash', [join(root, 'scripts', 'stack-up.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const env = Object.fromEntries(readFileSync(join(root, '.stack', 'env'), 'utf8').trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  const brokers = env.KAFKA_BROKERS.split(',');
  const id = `bench-desk-${Date.now().toString(36)}`;
  const topics = { scoresTopic: `${id}.scores`, alertsTopic: `${id}.alerts`, labelsTopic: `${id}.labels`, transactionsTopic: `${id}.tx`, dlqTopic: `${id}.dlq` };
  const raw = new Kafka({ brokers, clientId: 'bench', logLevel: logLevel.NOTHING });
  const admin = raw.admin();
  await admin.connect();
  await createTopicsWithLeaders(admin, Object.values(topics).map((topic) => ({ topic, numPartitions: Number(args.partitions), replicationFactor: 1 })));
  const producer = raw.producer();
  await producer.connect();
  for (let i = 0; i < N; i += 5000) {
    const messages = Array.from({ length: Math.min(5000, N - i) }, (_, k) => {
      const record = decisionRecord(i + k);
      return { key: String(record.cardToken), value: JSON.stringify(record) };
    });
    await producer.send({ topic: topics.scoresTopic, messages, acks: -1, compression: CompressionTypes.None });
  }
  await producer.disconnect();

  const database = await postgresSchema('bench_desk');
  const config = loadConfig({}, {
    kafkaBrokers: brokers,
    redisUrl: env.REDIS_URL,
    panHmacKey: Buffer.alloc(32, 1),
    deskDatabaseUrl: database.url,
    deskUsers: `bench:analyst:${await hashPassword('x', { N: 1024, r: 8, p: 1 })}`,
    deskGroupId: `${id}.desk`,
    deskBatchSize: BATCH,
    ...topics,
  });
  const telemetry = new Telemetry();
  let written = 0;
  let firstWriteStarted = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  telemetry.on('desk.written', (e) => {
    if (e.table !== 'decisions' || e.rows === 0) return;
    // the steady rate starts with the first write: joining the groups is not ingestion
    if (written === 0) firstWriteStarted = performance.now() - e.seconds * 1000;
    written += e.rows;
    if (written >= N) resolveDone();
  });
  const kafka = createKafka(config, logger);
  const labelsProducer = await connectProducer(kafka);
  const started = performance.now();
  const desk = await startDesk({
    config,
    mode: 'kafka',
    logger,
    telemetry,
    decoders: createMessageDecoders({ panHmacKey: Buffer.alloc(32, 1), defaultCurrency: 'KZT', maxMessageBytes: 65536 }),
    rulesVersion: () => 'bench',
    kafka,
    producer: labelsProducer,
  });
  const watchdog = setTimeout(() => {
    console.error(`bench:desk: only ${written} of ${N} decisions written after 10 minutes`);
    process.exit(1);
  }, 600_000);
  await done;
  const finished = performance.now();
  const seconds = (finished - started) / 1000;
  const writingSeconds = (finished - firstWriteStarted) / 1000;
  clearTimeout(watchdog);
  const stored = (await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM decisions'))[0].n;
  if (stored !== N) throw new Error(`expected ${N} decisions stored, found ${stored}`);
  await desk.stop();
  await labelsProducer.disconnect();
  await admin.deleteTopics({ topics: Object.values(topics) });
  await admin.disconnect();
  await database.drop();
  return { decisionsPerSecond: N / writingSeconds, writingSeconds, seconds, withGroupJoinPerSecond: N / seconds };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { at: new Date().toISOString(), decisions: N, alerts: ALERTS, batch: BATCH };
  const kafka = await throughKafka();
  results.kafkaToPostgres = kafka;
  console.log(
    `(a) Kafka -> desk -> PostgreSQL: ${N.toLocaleString('en')} decisions written in ${kafka.writingSeconds.toFixed(1)} s = ${Math.round(kafka.decisionsPerSecond).toLocaleString('en')} decisions/s ` +
      `(${kafka.seconds.toFixed(1)} s = ${Math.round(kafka.withGroupJoinPerSecond).toLocaleString('en')}/s counting the consumer group join)`,
  );

  const rows = rowsOf<DecisionRow>(N, decisionRecord, decisionRow);
  for (const [name, open] of [['PostgreSQL', () => postgresSchema('bench_desk')], ['PGlite', () => pgliteDatabase()]] as const) {
    const database = await open();
    await migrate(database.db);
    const rate = await upsertRate(database.db, rows);
    results[`upsert${name}`] = rate;
    console.log(`(b) ${name}: batched upsert ${Math.round(rate.fresh).toLocaleString('en')} decisions/s new, ${Math.round(rate.duplicates).toLocaleString('en')}/s redelivered`);
    await database.drop();
  }
  for (const [name, open] of [['PostgreSQL', () => postgresSchema('bench_desk')], ['PGlite', () => pgliteDatabase()]] as const) {
    const database = await open();
    await migrate(database.db);
    const load = await pageLoad(database.db);
    results[`queuePage${name}`] = load;
    console.log(
      `(c) ${name}: GET /desk/ with ${ALERTS.toLocaleString('en')} alerts: median ${load.medianMs.toFixed(0)} ms, p95 ${load.p95Ms.toFixed(0)} ms (${Math.round(load.bytes / 1024)} KiB); list refresh (?partial=1) median ${load.partialMedianMs.toFixed(0)} ms`,
    );
    await database.drop();
  }
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'desk.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
