/**
 * `npm run bench`: the end-to-end benchmark on the real broker and Redis (started if needed, like the tests).
 *
 *   (a) raw kafkajs consume-only throughput of the preloaded messages (the ceiling for any kafkajs consumer)
 *   (b) the full service's sustained throughput: decode, state, rules, model, policy, alerts, commits
 *   (c) event-to-decision and event-to-alert latency (p50/p99/max) at a fixed offered rate, from a simulated bank
 *       whose card population grows with the rate (customersAtRate) and whose cards have a day of history
 *   (d) state round trips per chunk and Redis bytes per card
 *
 *   npm run bench -- [--transactions 200000] [--partitions 6] [--rate 5000] [--seconds 20] [--model models/default|none]
 *                    [--challenger <model dir>]   (CHALLENGER_MODEL_DIR: a second model scored beside the first)
 *                    [--chunk 500] [--concurrency 6]   (CHUNK_SIZE, CONCURRENT_PARTITIONS)
 *                    [--cpu-profile b.cpuprofile]   (a V8 CPU profile of phase (b) only: open it in Chrome DevTools)
 *   BENCH_LOG_LEVEL=info shows the service's logs (default: errors only). A service that scores nothing for 60 s
 *   fails the run with its /readyz answer and consumer metrics instead of leaving it waiting.
 *
 * Prints a table and writes bench/results/pipeline.json. Numbers depend on what else the machine is doing: run it
 * on a quiet machine and say so when you quote them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import Redis from 'ioredis';
import { startService, type RunningService } from '../src/service';
import { Telemetry } from '../src/telemetry/events';
import { createSimulation } from '../src/sim';
import { createLogger } from '../src/telemetry/logger';
import type { TransactionMessage } from '../src/contract/schemas';

const { values: args } = parseArgs({
  options: {
    transactions: { type: 'string', default: '200000' },
    partitions: { type: 'string', default: '6' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '20' },
    model: { type: 'string', default: 'models/default' },
    challenger: { type: 'string' },
    chunk: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '6' },
    'cpu-profile': { type: 'string' },
    'warmup-seconds': { type: 'string', default: '2' },
  },
});
const root = join(__dirname, '..');
const N = Number(args.transactions);
const PARTITIONS = Number(args.partitions);
const HMAC = Buffer.from('card-shield-benchmark-key-0123456789abcdef');
const modelDir = args.model === 'none' || !existsSync(join(root, args.model)) ? 'none' : args.model;

function stackEnv(): { brokers: string[]; redisUrl: string } {
  execFileSync('bash', [join(root, 'scripts', 'stack-up.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const env = Object.fromEntries(readFileSync(join(root, '.stack', 'env'), 'utf8').trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  return { brokers: env.KAFKA_BROKERS.split(','), redisUrl: env.REDIS_URL };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function createTopics(kafka: Kafka, run: string): Promise<Record<string, string>> {
  const topics = { tx: `${run}.tx`, alerts: `${run}.alerts`, labels: `${run}.labels`, dlq: `${run}.dlq` };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })) });
  await admin.disconnect();
  return topics;
}

/** The simulated bank of phases (a) and (b); phase (c) grows it with the offered rate (customersAtRate). */
const CUSTOMERS = 20_000;
const DAY_MS = 86_400_000;

/**
 * Customers of the bank whose traffic phase (c) offers at `rate`: 20 per transaction per second, 20,000 at 1,000 tx/s.
 * Phase (c) replays the simulation from its start with event time = send time, so a fixed population would squeeze
 * more of each card's weeks into the run the higher the rate: at 5,000 tx/s each card made about four transactions
 * in 17 s, velocity rules fired on one in six, and the run measured alert handling rather than a bank's steady state.
 * A bank that sees five times the traffic has about five times the cards.
 */
function customersAtRate(rate: number): number {
  return Math.max(CUSTOMERS, Math.round(rate * 20));
}

function simulatedMessages(count: number, customers = CUSTOMERS): Array<{ key: string; value: string }> {
  const out: Array<{ key: string; value: string }> = [];
  for (const event of createSimulation({ seed: 11, customers, days: 60, maxTransactions: count })) {
    if (event.kind === 'transaction') out.push({ key: event.cardRef, value: JSON.stringify(event.message) });
    if (out.length >= count) break;
  }
  return out;
}

/**
 * A simulated message sent again as a new transaction at `eventMs`, keyed by its own card. The timestamp keeps the
 * milliseconds (phase (c) measures latency from it), in the simulator's +05:00.
 */
function restamped(template: { key: string; value: string }, transactionId: string, eventMs: number): { key: string; value: string } {
  const message = { ...(JSON.parse(template.value) as TransactionMessage), transactionId, timestamp: new Date(eventMs + 5 * 3600_000).toISOString().replace('Z', '+05:00') };
  return { key: template.key, value: JSON.stringify(message) };
}

async function preload(kafka: Kafka, topic: string, messages: Array<{ key: string; value: string }>): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < messages.length; i += 5000) {
    await producer.send({ topic, messages: messages.slice(i, i + 5000), acks: 1, compression: CompressionTypes.None });
  }
  await producer.disconnect();
}

async function consumeOnly(kafka: Kafka, topic: string, expected: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${topic}.raw`, maxBytesPerPartition: 4 * 1024 * 1024, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (first === 0) first = performance.now();
        seen += batch.messages.length;
        if (seen >= expected) resolve(performance.now());
      },
    });
  });
  const last = await done;
  await consumer.disconnect();
  return expected / ((last - first) / 1000);
}

async function start(brokers: string[], redisUrl: string, topics: Record<string, string>, group: string, prefix: string, telemetry: Telemetry): Promise<RunningService> {
  return startService({
    telemetry,
    env: {},
    logger: createLogger({ level: (process.env.BENCH_LOG_LEVEL as 'error') ?? 'error' }),
    overrides: {
      kafkaBrokers: brokers,
      redisUrl,
      panHmacKey: HMAC,
      httpPort: 0,
      transactionsTopic: topics.tx,
      alertsTopic: topics.alerts,
      labelsTopic: topics.labels,
      dlqTopic: topics.dlq,
      kafkaGroupId: group,
      redisKeyPrefix: prefix,
      modelDir,
      challengerModelDir: args.challenger,
      chunkSize: Number(args.chunk),
      concurrentPartitions: Number(args.concurrency),
    },
  });
}

/**
 * Waits for `done`; if the service scores nothing for `quietMs`, fails the run with what the service reports
 * (readiness and its consumer metrics) instead of waiting forever.
 */
async function stalledAfter(service: RunningService, done: Promise<void>, progress: () => number, quietMs: number): Promise<void> {
  let seen = -1;
  let since = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (progress() !== seen) {
        seen = progress();
        since = Date.now();
        return;
      }
      if (Date.now() - since < quietMs) return;
      clearInterval(timer);
      void Promise.all([
        fetch(`http://127.0.0.1:${service.port}/readyz`).then(async (r) => `${r.status} ${await r.text()}`, (e: Error) => e.message),
        fetch(`http://127.0.0.1:${service.port}/metrics`).then((r) => r.text(), () => ''),
      ]).then(([ready, metrics]) => {
        const lines = metrics.split('\n').filter((l) => /^cardshield_(consumer|transactions|state_errors|kafka|alerts_published|rebalances)/.test(l));
        reject(new Error(`bench: the service scored nothing for ${quietMs / 1000} s after ${seen} transactions; /readyz: ${ready}\n${lines.join('\n')}`));
      });
    }, 1000);
  });
  try {
    await Promise.race([done, stalled]);
  } finally {
    clearInterval(timer);
  }
}

/** Polls /readyz until the service says ready (consumers joined, state reachable). */
async function waitUntilReady(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error('bench: the latency service did not become ready within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The inspector's sampling profiler, for one phase of the run (a whole-process profile is mostly setup). */
async function startProfiler(): Promise<{ stop(): Promise<object> }> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  const heap = process.env.BENCH_HEAP_PROFILE === '1'; // allocations (collected ones too) instead of CPU
  if (heap) {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  } else {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
  }
  return {
    async stop() {
      const { profile } = await post(heap ? 'HeapProfiler.stopSampling' : 'Profiler.stop');
      session.disconnect();
      return profile as object;
    },
  };
}

async function main(): Promise<void> {
  const { brokers, redisUrl } = stackEnv();
  const kafka = new Kafka({ brokers, clientId: 'bench', logLevel: logLevel.NOTHING });
  const run = `bench-${Date.now().toString(36)}`;
  const redis = new Redis(redisUrl);
  console.error(`bench: generating ${N.toLocaleString('en')} simulated transactions…`);
  const messages = simulatedMessages(N);
  const topics = await createTopics(kafka, run);
  await preload(kafka, topics.tx, messages);
  console.error(`bench: preloaded ${messages.length.toLocaleString('en')} messages into ${PARTITIONS} partitions; model: ${modelDir}${args.challenger ? `, challenger: ${args.challenger}` : ''}`);

  // (a)
  const rawRate = await consumeOnly(kafka, topics.tx, messages.length);
  console.error(`bench: (a) consume-only ${Math.round(rawRate).toLocaleString('en')} msg/s`);

  // (b) + (d)
  const prefix = `${run}:`;
  const profiler = args['cpu-profile'] ? await startProfiler() : undefined;
  // Listeners first: the service may score a chunk before startService returns.
  const telemetry = new Telemetry();
  let decided = 0;
  let firstMs = 0;
  let lastMs = 0;
  let chunks = 0;
  let roundTrips = 0;
  telemetry.on('state.round_trip', () => roundTrips++);
  const finished = new Promise<void>((resolve) => {
    telemetry.on('scorer.chunk', (e) => {
      if (firstMs === 0) firstMs = performance.now() - e.seconds * 1000;
      chunks++;
      decided += e.size;
      lastMs = performance.now();
      if (decided >= messages.length) resolve();
    });
  });
  console.error('bench: (b) starting the service');
  const service = await start(brokers, redisUrl, topics, `${run}.service`, prefix, telemetry);
  console.error('bench: (b) service started; waiting for it to score the preloaded messages');
  await stalledAfter(service, finished, () => decided, 60_000);
  if (profiler) {
    writeFileSync(args['cpu-profile'] as string, JSON.stringify(await profiler.stop()));
    console.error(`bench: CPU profile of (b) written to ${args['cpu-profile']}`);
  }
  const serviceRate = decided / ((lastMs - firstMs) / 1000);
  console.error(`bench: (b) service ${Math.round(serviceRate).toLocaleString('en')} tx/s (${chunks} chunks)`);

  const cardKeys = await redis.keys(`${prefix}{card:*`);
  const sample = cardKeys.slice(0, 2000);
  const bytesByCard = new Map<string, { agg: number; refs: number; other: number }>();
  for (const key of sample) {
    const card = key.slice(0, key.indexOf('}') + 1);
    const entry = bytesByCard.get(card) ?? { agg: 0, refs: 0, other: 0 };
    const bytes = Number(await redis.memory('USAGE', key)) || 0;
    if (key.endsWith(':agg')) entry.agg += bytes;
    else if (key.endsWith(':refs')) entry.refs += bytes;
    else entry.other += bytes;
    bytesByCard.set(card, entry);
  }
  const cards = [...bytesByCard.values()];
  const mean = (f: (e: { agg: number; refs: number; other: number }) => number) => Math.round(cards.reduce((s, e) => s + f(e), 0) / Math.max(1, cards.length));

  // (c) latency at a fixed offered rate, event time = send time, on fresh topics with the service caught up.
  const latencyTopics = await createTopics(kafka, `${run}-lat`);
  const latencyService = await start(brokers, redisUrl, latencyTopics, `${run}.latency`, `${run}-lat:`, new Telemetry());
  const decisionLatencies: number[] = [];
  const alertLatencies: number[] = [];
  // Steady state only: the service must be ready (its consumers joined the group), and the first seconds of traffic
  // (connections, JIT, the first fetches) are sent but not counted.
  await waitUntilReady(latencyService.port);
  const warmupSeconds = Number(args['warmup-seconds']);
  let countFromMs = Infinity; // wall-clock event time from which latencies count (set when sending starts)
  let latencyDecided = 0;
  latencyService.telemetry.on('scorer.event_to_decision', (e) => {
    latencyDecided++;
    if (Date.now() - e.seconds * 1000 >= countFromMs) decisionLatencies.push(e.seconds * 1000);
  });
  latencyService.telemetry.on('alerts.event_to_alert', (e) => {
    if (Date.now() - e.seconds * 1000 >= countFromMs) alertLatencies.push(e.seconds * 1000);
  });
  const rate = Number(args.rate);
  const seconds = Number(args.seconds) + warmupSeconds;
  const offered = simulatedMessages(rate * seconds, customersAtRate(rate));
  const producer = kafka.producer();
  await producer.connect();
  // Until the latency service has decided `count` transactions (since the count was last reset), or fails the run
  // when it stalls.
  const decidedAll = (count: number) =>
    stalledAfter(
      latencyService,
      new Promise<void>((resolve) => {
        const check = () => (latencyDecided >= count ? resolve() : setTimeout(check, 50));
        check();
      }),
      () => latencyDecided,
      60_000,
    );
  // The timed run starts in steady state, as a bank's traffic does: the same traffic first goes through once with
  // event times spread over the day before (not timed), so its cards, accounts and merchants are known and the
  // service, the topic and Redis are warm. Without it, p99 at 5,000 tx/s was 0.56–0.91 s instead of 0.16–0.26 s; a
  // first pass of another bank's cards (the same accounts and merchants) gave 0.24 s: the warm-up is what matters.
  const historyStartMs = Date.now() - DAY_MS;
  for (let i = 0; i < offered.length; i += 5000) {
    const messages = offered
      .slice(i, i + 5000)
      .map((template, j) => restamped(template, `hist-${i + j}`, historyStartMs + Math.floor(((i + j) / offered.length) * 0.9 * DAY_MS)));
    await producer.send({ topic: latencyTopics.tx, messages, acks: 1 });
  }
  await decidedAll(offered.length);
  latencyDecided = 0;
  const tickMs = 20;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const total = rate * seconds;
  const startedAt = performance.now();
  countFromMs = Date.now() + warmupSeconds * 1000;
  let sent = 0;
  while (sent < total) {
    const dueBy = startedAt + (sent / rate) * 1000;
    const wait = dueBy - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const now = Date.now();
    const batch = [];
    for (let i = 0; i < perTick && sent < total; i++, sent++) batch.push(restamped(offered[sent % offered.length], `lat-${sent}`, now));
    producer.send({ topic: latencyTopics.tx, messages: batch, acks: 1 }).catch((error) => console.error(`bench: send failed: ${(error as Error).message}`));
  }
  await decidedAll(total);
  const offeredRate = total / ((performance.now() - startedAt) / 1000);
  await producer.disconnect();
  // Copies: stopping the services below may still report events into the live arrays.
  const decisions = [...decisionLatencies].sort((a, b) => a - b);
  const alertAcks = [...alertLatencies].sort((a, b) => a - b);

  await Promise.all([service.stop(), latencyService.stop()]);
  for (const pattern of [`${prefix}*`, `${run}-lat:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  }
  redis.disconnect();

  const result = {
    machine: { cores: require('node:os').cpus().length, node: process.version, loadAverage: require('node:os').loadavg() },
    transactions: messages.length,
    partitions: PARTITIONS,
    chunkSize: Number(args.chunk),
    model: modelDir,
    a_consumeOnlyMsgPerSec: Math.round(rawRate),
    b_serviceTxPerSec: Math.round(serviceRate),
    b_shareOfConsumeOnly: Number((serviceRate / rawRate).toFixed(3)),
    c_offeredRate: Math.round(offeredRate),
    c_customers: customersAtRate(rate),
    c_warmupSeconds: warmupSeconds,
    c_eventToDecisionMs: { p50: percentile(decisions, 50), p99: percentile(decisions, 99), max: decisions[decisions.length - 1] },
    c_eventToAlertAckMs: { count: alertAcks.length, p50: percentile(alertAcks, 50), p99: percentile(alertAcks, 99), max: alertAcks[alertAcks.length - 1] },
    d_stateRoundTripsPerChunk: Number((roundTrips / Math.max(1, chunks)).toFixed(2)),
    d_redisBytesPerCard: { cardsSampled: cards.length, aggregates: mean((e) => e.agg), references: mean((e) => e.refs), other: mean((e) => e.other) },
  };
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'pipeline.json'), `${JSON.stringify(result, null, 2)}\n`);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  console.log(`
card-shield end-to-end benchmark (${result.transactions.toLocaleString('en')} transactions, ${PARTITIONS} partitions, chunk ${result.chunkSize}, model ${modelDir}${args.challenger ? `, challenger ${args.challenger}` : ''})
| measure | value |
|---|---|
| (a) kafkajs consume-only | ${result.a_consumeOnlyMsgPerSec.toLocaleString('en')} msg/s |
| (b) service, sustained | ${result.b_serviceTxPerSec.toLocaleString('en')} tx/s (${(100 * result.b_shareOfConsumeOnly).toFixed(0)} % of (a)) |
| (c) offered rate | ${result.c_offeredRate.toLocaleString('en')} tx/s for ${seconds} s (the first ${warmupSeconds} s not counted), ${result.c_customers.toLocaleString('en')} simulated customers |
| (c) event → decision p50 / p99 / max | ${ms(result.c_eventToDecisionMs.p50)} / ${ms(result.c_eventToDecisionMs.p99)} / ${ms(result.c_eventToDecisionMs.max)} |
| (c) event → alert acknowledged p50 / p99 / max (${result.c_eventToAlertAckMs.count} alerts) | ${ms(result.c_eventToAlertAckMs.p50)} / ${ms(result.c_eventToAlertAckMs.p99)} / ${ms(result.c_eventToAlertAckMs.max)} |
| (d) state round trips per chunk | ${result.d_stateRoundTripsPerChunk} |
| (d) Redis bytes per card: aggregates / references / other | ${result.d_redisBytesPerCard.aggregates} / ${result.d_redisBytesPerCard.references} / ${result.d_redisBytesPerCard.other} |
load average during the run: ${result.machine.loadAverage.map((l: number) => l.toFixed(2)).join(' ')}
written to bench/results/pipeline.json`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench failed: ${(error as Error).stack}`);
    process.exit(1);
  },
);
