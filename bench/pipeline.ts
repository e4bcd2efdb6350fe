/**
 * `npm run bench`: the end-to-end benchmark on the real broker and Redis (started if needed, like the tests).
 *
 *   (a) raw kafkajs consume-only throughput of the preloaded messages (the ceiling for any kafkajs consumer)
 *   (b) the full service's sustained throughput: decode, state, rules, model, policy, alerts, commits
 *   (b') per transaction of (b): Node CPU (process.cpuUsage), Redis CPU (INFO cpu), Redis commands (INFO stats, the
 *       scripts' own calls included; the script calls from INFO commandstats), Redis bytes on the wire (INFO stats net
 *       input + output) and Kafka bytes (the topics' log segments on the local broker)
 *   (c) event-to-decision and event-to-alert latency (p50/p99/max) at each fixed offered rate, from a simulated bank
 *       whose card population grows with the rate (customersAtRate) and whose cards have a day of history; the load
 *       generator runs in a child process of its own (bench/load-generator.ts), not on the service's event loop
 *   (d) state round trips per chunk and Redis bytes per card
 *
 *   npm run bench -- [--transactions 200000] [--partitions 6] [--rate 5000,10000] [--seconds 20] [--model models/default|none]
 *                    [--challenger <model dir>]   (CHALLENGER_MODEL_DIR: a second model scored beside the first)
 *                    [--chunk 500] [--concurrency 6]   (CHUNK_SIZE, CONCURRENT_PARTITIONS)
 *                    [--cpu-profile b.cpuprofile]   (a V8 CPU profile of phase (b) only: open it in Chrome DevTools)
 *   BENCH_LOG_LEVEL=info shows the service's logs (default: errors only). A service that scores nothing for 60 s
 *   fails the run with its /readyz answer and consumer metrics instead of leaving it waiting.
 *
 * Prints a table and writes bench/results/pipeline.json. Numbers depend on what else the machine is doing: run it
 * on a quiet machine and say so when you quote them.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import Redis from 'ioredis';
import { createTopicsWithLeaders } from '../src/kafka/client';
import { startService, type RunningService } from '../src/service';
import { Telemetry } from '../src/telemetry/events';
import { createLogger } from '../src/telemetry/logger';
import type { LoadPlan, LoadReport } from './load-generator';
import { customersAtRate, simulatedMessages, type KeyedMessage } from './pipeline-traffic';

const { values: args } = parseArgs({
  options: {
    transactions: { type: 'string', default: '200000' },
    partitions: { type: 'string', default: '6' },
    rate: { type: 'string', default: '5000,10000' }, // offered rates of phase (c), one run each
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
  await createTopicsWithLeaders(admin, Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })));
  await admin.disconnect();
  return topics;
}

async function preload(kafka: Kafka, topic: string, messages: KeyedMessage[]): Promise<void> {
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

/** Redis's own counters, server-wide (the bench's Redis serves only this run). */
interface RedisCounters {
  cpuSeconds: number;
  /** Every command Redis ran: the script calls and the commands the scripts called (INFO stats counts both). */
  commands: number;
  /** Of those, the script calls (INFO commandstats: EVAL, EVALSHA, FCALL and their read-only forms). */
  scriptCalls: number;
  wireBytes: number;
}

async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const info = await redis.info('all');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  let scriptCalls = 0;
  for (const match of info.matchAll(/^cmdstat_(?:eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro):calls=(\d+)/gm)) scriptCalls += Number(match[1]);
  return {
    cpuSeconds: field('used_cpu_user') + field('used_cpu_sys'),
    commands: field('total_commands_processed'),
    scriptCalls,
    wireBytes: field('total_net_input_bytes') + field('total_net_output_bytes'),
  };
}

/**
 * Bytes of a topic's log segments on the local broker (.stack/kafka/data): the record batches a fetch returns and a
 * produce sent, without the protocol's request and response framing. Read from the files because kafkajs reports
 * no byte counts (its request events carry the request size only, not the fetch responses).
 */
function topicLogBytes(topic: string): number {
  const data = join(root, '.stack', 'kafka', 'data');
  let bytes = 0;
  for (const dir of readdirSync(data)) {
    if (!dir.startsWith(`${topic}-`) || !/^\d+$/.test(dir.slice(topic.length + 1))) continue;
    for (const file of readdirSync(join(data, dir))) if (file.endsWith('.log')) bytes += statSync(join(data, dir, file)).size;
  }
  return bytes;
}

interface LatencyRun {
  rate: number;
  offeredRate: number;
  customers: number;
  eventToDecisionMs: { p50: number; p99: number; max: number };
  eventToAlertAckMs: { count: number; p50: number; p99: number; max: number };
}

function summary(latencies: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

/**
 * Phase (c) at one offered rate: event time = send time, on fresh topics with the service caught up. The load
 * generator is a child process (bench/load-generator.ts); this process only runs the service and counts.
 */
async function latencyAt(kafka: Kafka, brokers: string[], redisUrl: string, run: string, rate: number): Promise<LatencyRun> {
  const topics = await createTopics(kafka, run);
  const service = await start(brokers, redisUrl, topics, `${run}.service`, `${run}:`, new Telemetry());
  const decisionLatencies: number[] = [];
  const alertLatencies: number[] = [];
  // Steady state only: the service must be ready (its consumers joined the group), and the first seconds of traffic
  // (connections, JIT, the first fetches) are sent but not counted.
  await waitUntilReady(service.port);
  const warmupSeconds = Number(args['warmup-seconds']);
  let countFromMs = Infinity; // wall-clock event time from which latencies count (set when sending starts)
  let decided = 0;
  service.telemetry.on('scorer.event_to_decision', (e) => {
    decided++;
    if (Date.now() - e.seconds * 1000 >= countFromMs) decisionLatencies.push(e.seconds * 1000);
  });
  service.telemetry.on('alerts.event_to_alert', (e) => {
    if (Date.now() - e.seconds * 1000 >= countFromMs) alertLatencies.push(e.seconds * 1000);
  });
  // Until the service has decided `count` transactions (since the count was last reset), or fails the run when it stalls.
  const decidedAll = (count: number) =>
    stalledAfter(
      service,
      new Promise<void>((resolve) => {
        const check = () => (decided >= count ? resolve() : setTimeout(check, 50));
        check();
      }),
      () => decided,
      60_000,
    );
  const generator = fork(join(__dirname, 'load-generator.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<never>((_, reject) => generator.once('exit', (code) => reject(new Error(`bench: the load generator exited (${code}) before it reported`))));
  const nextReport = () => Promise.race([new Promise<LoadReport>((resolve) => generator.once('message', (m) => resolve(m as LoadReport))), exited]);
  try {
    const seconds = Number(args.seconds) + warmupSeconds;
    const plan: LoadPlan = { brokers, topic: topics.tx, rate, seconds, customers: customersAtRate(rate) };
    generator.send(plan);
    const history = await nextReport();
    await decidedAll(history.count);
    decided = 0;
    countFromMs = Date.now() + warmupSeconds * 1000;
    generator.send({ kind: 'go' });
    const sent = await nextReport();
    if (sent.kind !== 'sent') throw new Error(`bench: the load generator reported ${sent.kind} instead of sent`);
    await decidedAll(sent.count);
    // Copies: stopping the service below may still report events into the live arrays.
    const decisions = summary(decisionLatencies);
    const alerts = summary(alertLatencies);
    return { rate, offeredRate: Math.round(sent.offeredRate), customers: plan.customers, eventToDecisionMs: decisions, eventToAlertAckMs: { count: alertLatencies.length, ...alerts } };
  } finally {
    generator.kill();
    await service.stop();
  }
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
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

  // (b) + (b') + (d)
  const prefix = `${run}:`;
  const profiler = args['cpu-profile'] ? await startProfiler() : undefined;
  // Listeners first: the service may score a chunk before startService returns.
  const telemetry = new Telemetry();
  let decided = 0;
  let firstMs = 0;
  let lastMs = 0;
  let chunks = 0;
  let roundTrips = 0;
  // Per-transaction costs count from the first chunk decided (the service's start, the model's load and the
  // consumers' join are not per transaction) to the last: Node's CPU from the first chunk's event, Redis's counters
  // from when their first reading arrives, each divided by the transactions decided since.
  let nodeFrom: { cpu: NodeJS.CpuUsage; decided: number } | undefined;
  let redisFrom: Promise<{ counters: RedisCounters; decided: number }> | undefined;
  telemetry.on('state.round_trip', () => roundTrips++);
  const finished = new Promise<void>((resolve) => {
    telemetry.on('scorer.chunk', (e) => {
      if (firstMs === 0) firstMs = performance.now() - e.seconds * 1000;
      chunks++;
      decided += e.size;
      lastMs = performance.now();
      if (nodeFrom === undefined) {
        nodeFrom = { cpu: process.cpuUsage(), decided };
        redisFrom = redisCounters(redis).then((counters) => ({ counters, decided }));
      }
      if (decided >= messages.length) resolve();
    });
  });
  console.error('bench: (b) starting the service');
  const service = await start(brokers, redisUrl, topics, `${run}.service`, prefix, telemetry);
  console.error('bench: (b) service started; waiting for it to score the preloaded messages');
  await stalledAfter(service, finished, () => decided, 60_000);
  const nodeCpu = process.cpuUsage((nodeFrom as { cpu: NodeJS.CpuUsage }).cpu);
  const nodeTransactions = decided - (nodeFrom as { decided: number }).decided;
  const redisStart = await (redisFrom as Promise<{ counters: RedisCounters; decided: number }>);
  const redisEnd = await redisCounters(redis);
  const redisTransactions = decided - redisStart.decided;
  if (profiler) {
    writeFileSync(args['cpu-profile'] as string, JSON.stringify(await profiler.stop()));
    console.error(`bench: CPU profile of (b) written to ${args['cpu-profile']}`);
  }
  const serviceRate = decided / ((lastMs - firstMs) / 1000);
  console.error(`bench: (b) service ${Math.round(serviceRate).toLocaleString('en')} tx/s (${chunks} chunks)`);
  await service.stop();
  const perRedisTx = (field: keyof RedisCounters, scale = 1) => Number((((redisEnd[field] - redisStart.counters[field]) * scale) / redisTransactions).toFixed(1));
  const perTransaction = {
    nodeCpuMicros: Number(((nodeCpu.user + nodeCpu.system) / nodeTransactions).toFixed(1)),
    redisCpuMicros: perRedisTx('cpuSeconds', 1e6),
    redisCommands: perRedisTx('commands'),
    redisScriptCalls: Number(((redisEnd.scriptCalls - redisStart.counters.scriptCalls) / redisTransactions).toFixed(3)),
    redisWireBytes: perRedisTx('wireBytes'),
    kafkaConsumedBytes: Math.round(topicLogBytes(topics.tx) / messages.length),
    kafkaProducedBytes: Math.round(topicLogBytes(topics.alerts) / messages.length),
  };

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
  await deleteKeys(redis, `${prefix}*`);

  // (c), one offered rate after the other, each on fresh topics with a service of its own
  const rates = String(args.rate).split(',').map(Number);
  const latency: LatencyRun[] = [];
  for (const rate of rates) {
    console.error(`bench: (c) latency at ${rate.toLocaleString('en')} tx/s offered, load generator in a child process`);
    const latencyRun = `${run}-lat${rate}`;
    latency.push(await latencyAt(kafka, brokers, redisUrl, latencyRun, rate));
    await deleteKeys(redis, `${latencyRun}:*`);
  }
  redis.disconnect();

  const warmupSeconds = Number(args['warmup-seconds']);
  const result = {
    machine: { cores: require('node:os').cpus().length, node: process.version, loadAverage: require('node:os').loadavg() },
    transactions: messages.length,
    partitions: PARTITIONS,
    chunkSize: Number(args.chunk),
    model: modelDir,
    a_consumeOnlyMsgPerSec: Math.round(rawRate),
    b_serviceTxPerSec: Math.round(serviceRate),
    b_shareOfConsumeOnly: Number((serviceRate / rawRate).toFixed(3)),
    b_perTransaction: perTransaction,
    c_seconds: Number(args.seconds),
    c_warmupSeconds: warmupSeconds,
    c_latency: latency,
    d_stateRoundTripsPerChunk: Number((roundTrips / Math.max(1, chunks)).toFixed(2)),
    d_redisBytesPerCard: { cardsSampled: cards.length, aggregates: mean((e) => e.agg), references: mean((e) => e.refs), other: mean((e) => e.other) },
  };
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'pipeline.json'), `${JSON.stringify(result, null, 2)}\n`);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const t = perTransaction;
  const latencyRows = latency.map(
    (l) => `| (c) at ${l.rate.toLocaleString('en')} tx/s (offered ${l.offeredRate.toLocaleString('en')} for ${result.c_seconds + warmupSeconds} s, the first ${warmupSeconds} s not counted; ${l.customers.toLocaleString('en')} customers): event → decision p50 / p99 / max | ${ms(l.eventToDecisionMs.p50)} / ${ms(l.eventToDecisionMs.p99)} / ${ms(l.eventToDecisionMs.max)} |
| (c) at ${l.rate.toLocaleString('en')} tx/s: event → alert acknowledged p50 / p99 / max (${l.eventToAlertAckMs.count} alerts) | ${ms(l.eventToAlertAckMs.p50)} / ${ms(l.eventToAlertAckMs.p99)} / ${ms(l.eventToAlertAckMs.max)} |`,
  );
  console.log(`
card-shield end-to-end benchmark (${result.transactions.toLocaleString('en')} transactions, ${PARTITIONS} partitions, chunk ${result.chunkSize}, model ${modelDir}${args.challenger ? `, challenger ${args.challenger}` : ''})
| measure | value |
|---|---|
| (a) kafkajs consume-only | ${result.a_consumeOnlyMsgPerSec.toLocaleString('en')} msg/s |
| (b) service, sustained | ${result.b_serviceTxPerSec.toLocaleString('en')} tx/s (${(100 * result.b_shareOfConsumeOnly).toFixed(1)} % of (a)) |
| (b) per transaction: Node CPU / Redis CPU | ${t.nodeCpuMicros} µs / ${t.redisCpuMicros} µs |
| (b) per transaction: Redis commands (the scripts' own calls included) / script calls | ${t.redisCommands} / ${t.redisScriptCalls} |
| (b) per transaction: bytes on the wire, Redis (in + out) / Kafka log consumed / Kafka log produced (alerts) | ${t.redisWireBytes} B / ${t.kafkaConsumedBytes} B / ${t.kafkaProducedBytes} B |
${latencyRows.join('\n')}
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
