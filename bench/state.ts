/**
 * State benchmark (`npm run bench:state`): updates + features per second on a real Redis at batch 500, Redis round
 * trips per batch, and MEMORY USAGE per card with 30 days of history at 3 transactions a day. Reads REDIS_URL
 * (default redis://127.0.0.1:6379), writes only under its own key prefix and deletes it afterwards. Bounded: about
 * 40 000 transactions for throughput and 90 per card for 300 cards for memory.
 */
import os from 'node:os';
import type { Redis } from 'ioredis';
import type { CardTransaction } from '../src/contract/transaction';
import { cardKeys } from '../src/state/keys';
import { LAYOUTS, PLACE_ENTRY_BYTES } from '../src/state/layout';
import { createMemoryStore } from '../src/state/memory-store';
import { connectRedis } from '../src/state/redis-connection';
import { createRedisStore } from '../src/state/redis-store';
import { countSocketWrites } from '../test/support/socket-writes';
import { deleteStateKeys, redisCpuSeconds } from './state-redis';
import { DAY_MS, START, hexToken, random, trafficStream } from './state-traffic';

const BATCH = 500;
const WARMUP_BATCHES = 10;
const MEASURED_BATCHES = 70;
const MEMORY_CARDS = 300;
/** 30 days at 3 transactions a day per card: regular merchants, a few MCCs, one or two countries. */
function historyStream(cards: number): CardTransaction[] {
  const next = random(7);
  const txns: CardTransaction[] = [];
  for (let card = 0; card < cards; card++) {
    const regulars = Array.from({ length: 12 }, () => Math.floor(next() * 3000));
    for (let day = 0; day < 30; day++) {
      for (let k = 0; k < 3; k++) {
        const time = START + day * DAY_MS + (8 + k * 4) * 3_600_000 + Math.floor(next() * 3_600_000);
        const merchant = next() < 0.8 ? regulars[Math.floor(next() * regulars.length)] : Math.floor(next() * 3000);
        txns.push({
          transactionId: `hist-${card}-${day}-${k}-${'x'.repeat(20)}`, // 36 characters, like a UUID
          eventTimeMs: time,
          timestamp: new Date(time).toISOString(),
          cardToken: hexToken('h', card),
          amount: Math.round(1000 + next() * 30_000),
          currency: 'KZT',
          approved: true,
          merchantId: `MER${merchant}`,
          terminalId: `TER${merchant}-0`,
          mcc: ['5411', '5812', '5541', '5999', '6011', '4111', '5912', '5311'][merchant % 8],
          country: next() < 0.97 ? 'KZ' : 'TR',
          accountId: `HACC${card}`,
        });
      }
    }
  }
  return txns.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
}

/** Script calls the server has run (INFO commandstats, server-wide: includes other clients). */
async function evalshaCalls(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

/** How fast this machine runs plain JavaScript, so figures can be compared across machines. */
function calibrationMs(): number {
  const started = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < 1e8; i++) sum += i;
  if (sum < 0) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Entities a batch updates: each distinct card, account, terminal, merchant, device and IP in it. */
function entitiesOf(batch: readonly CardTransaction[]): number {
  const entities = new Set<string>();
  for (const t of batch) {
    entities.add(`card:${t.cardToken}`);
    for (const [kind, id] of [['account', t.accountId], ['terminal', t.terminalId], ['merchant', t.merchantId], ['device', t.deviceId], ['ip', t.ip]]) {
      if (id !== undefined) entities.add(`${kind}:${id}`);
    }
  }
  return entities.size;
}

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = connectRedis({ redisUrl, redisClusterNodes: [] }) as Redis;
  const prefix = `bench:state:${process.pid}:`;
  try {
    await redis.ping();
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
    console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os.loadavg()[0].toFixed(1)}; a 1e8-step JS loop takes ${calibrationMs().toFixed(0)} ms`);
    console.log(`state benchmark on ${redisUrl.replace(/\/\/[^@]*@/, '//')} (Redis ${version}), key prefix ${prefix}`);

    // ---- throughput at batch 500, one batch in flight (as the consumer runs)
    const store = createRedisStore(redis, { keyPrefix: prefix });
    const stream = trafficStream((WARMUP_BATCHES + MEASURED_BATCHES) * BATCH);
    for (let b = 0; b < WARMUP_BATCHES; b++) await store.applyBatch(stream.slice(b * BATCH, (b + 1) * BATCH));
    let entities = 0;
    const scriptCallsBefore = await evalshaCalls(redis);
    const writes = await countSocketWrites(redis);
    const redisCpuBefore = await redisCpuSeconds(redis);
    const nodeCpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let b = WARMUP_BATCHES; b < WARMUP_BATCHES + MEASURED_BATCHES; b++) {
      writes.nextBatch();
      await store.applyBatch(stream.slice(b * BATCH, (b + 1) * BATCH));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const nodeCpu = process.cpuUsage(nodeCpuBefore);
    writes.restore();
    const redisCpu = (await redisCpuSeconds(redis)) - redisCpuBefore;
    const scriptCalls = (await evalshaCalls(redis)) - scriptCallsBefore;
    for (let b = WARMUP_BATCHES; b < WARMUP_BATCHES + MEASURED_BATCHES; b++) entities += entitiesOf(stream.slice(b * BATCH, (b + 1) * BATCH));
    const measured = MEASURED_BATCHES * BATCH;
    console.log(`throughput, batch ${BATCH}, 1 batch in flight: ${Math.round(measured / seconds)} tx/s (${measured} tx in ${seconds.toFixed(2)} s, ${((seconds / MEASURED_BATCHES) * 1000).toFixed(1)} ms per batch)`);
    console.log(
      `CPU per transaction: Redis ${((redisCpu * 1e6) / measured).toFixed(0)} us (server-wide INFO cpu: includes other clients), this process ${((nodeCpu.user + nodeCpu.system) / measured).toFixed(0)} us`,
    );
    console.log(
      `round trips per batch: ${(writes.roundTrips / MEASURED_BATCHES).toFixed(2)} (writes after a reply of the batch start one); socket writes per batch: ${(writes.count / MEASURED_BATCHES).toFixed(1)}; script calls per batch: ${(scriptCalls / MEASURED_BATCHES).toFixed(1)} (INFO commandstats, server-wide) for ${(entities / MEASURED_BATCHES).toFixed(0)} distinct entities`,
    );

    // ---- the same work with two batches in flight (two partitions on one instance)
    const pairStream = trafficStream((MEASURED_BATCHES + 2) * BATCH).map((t) => ({ ...t, transactionId: `pair-${t.transactionId}`, eventTimeMs: t.eventTimeMs + 3 * DAY_MS }));
    const lanes = [pairStream.filter((t) => parseInt(t.cardToken.slice(1, 6), 16) % 2 === 0), pairStream.filter((t) => parseInt(t.cardToken.slice(1, 6), 16) % 2 === 1)];
    const pairStarted = process.hrtime.bigint();
    await Promise.all(
      lanes.map(async (lane) => {
        for (let i = 0; i < lane.length; i += BATCH) await store.applyBatch(lane.slice(i, i + BATCH));
      }),
    );
    const pairSeconds = Number(process.hrtime.bigint() - pairStarted) / 1e9;
    console.log(`throughput, batch ${BATCH}, 2 batches in flight: ${Math.round(pairStream.length / pairSeconds)} tx/s (${pairStream.length} tx)`);

    // ---- the in-memory store on the same traffic, for reference
    const memory = createMemoryStore();
    const memoryStarted = process.hrtime.bigint();
    for (let b = 0; b < WARMUP_BATCHES + MEASURED_BATCHES; b++) await memory.applyBatch(stream.slice(b * BATCH, (b + 1) * BATCH));
    const memorySeconds = Number(process.hrtime.bigint() - memoryStarted) / 1e9;
    console.log(`in-memory store, same traffic: ${Math.round(stream.length / memorySeconds)} tx/s`);
    console.log(`keys written by the throughput runs deleted: ${await deleteStateKeys(redis, prefix)}`);

    // ---- memory per card: 30 days at 3 transactions a day
    const history = historyStream(MEMORY_CARDS);
    for (let i = 0; i < history.length; i += BATCH) await store.applyBatch(history.slice(i, i + BATCH));
    let aggregates = 0;
    let references = 0;
    let places = 0;
    let placeBytes = 0;
    for (let card = 0; card < MEMORY_CARDS; card++) {
      const keys = cardKeys(prefix, hexToken('h', card));
      aggregates += (await redis.memory('USAGE', keys.aggregates, 'SAMPLES', 0)) ?? 0;
      placeBytes += (await redis.memory('USAGE', keys.places, 'SAMPLES', 0)) ?? 0;
      references += (await redis.memory('USAGE', keys.references, 'SAMPLES', 0)) ?? 0;
      places += (await redis.strlen(keys.places)) / PLACE_ENTRY_BYTES;
    }
    const perCard = (bytes: number) => Math.round(bytes / MEMORY_CARDS);
    console.log(`memory per card, 30 days x 3 tx/day (${MEMORY_CARDS} cards, MEMORY USAGE ... SAMPLES 0, key included):`);
    console.log(
      `  windowed aggregates: ${perCard(aggregates + placeBytes)} B = rings ${perCard(aggregates)} B (${LAYOUTS.card.size} B of data) + places ${perCard(placeBytes)} B (${(places / MEMORY_CARDS).toFixed(1)} x ${PLACE_ENTRY_BYTES} B of data)`,
    );
    console.log(`  recent-transaction references (90 per card: 8-byte id fingerprint, minute, label, terminal and merchant ids): ${perCard(references)} B`);
    console.log(`keys written by the memory run deleted: ${await deleteStateKeys(redis, prefix)}`);
  } finally {
    await deleteStateKeys(redis, prefix);
    await redis.quit();
  }
}

/**
 * `npm run bench:state -- --cluster`: the same traffic on a three-master Redis Cluster this run starts on loopback
 * (redis-server --cluster-enabled, as the cluster test does): the state's scale-out path. On a 2-core machine the
 * three masters share the cores with this process, so this shows the cost of spreading a batch over masters rather
 * than the gain of more machines.
 */
async function clusterRun(): Promise<void> {
  const { startRedisCluster } = await import('../test/support/redis-cluster');
  const cluster = await startRedisCluster();
  const client = connectRedis({ redisUrl: 'redis://127.0.0.1:6379', redisClusterNodes: cluster.nodes });
  try {
    const store = createRedisStore(client, { keyPrefix: 'bench:cluster:' });
    const stream = trafficStream((WARMUP_BATCHES + MEASURED_BATCHES) * BATCH);
    for (let b = 0; b < WARMUP_BATCHES; b++) await store.applyBatch(stream.slice(b * BATCH, (b + 1) * BATCH));
    const started = process.hrtime.bigint();
    for (let b = WARMUP_BATCHES; b < WARMUP_BATCHES + MEASURED_BATCHES; b++) await store.applyBatch(stream.slice(b * BATCH, (b + 1) * BATCH));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // On a cluster a batch is one script call per slot its entities fall in (~1,900 calls, all sent before the first reply is read).
    console.log(`cluster of ${cluster.nodes.length} masters, batch ${BATCH}, 1 batch in flight: ${Math.round((MEASURED_BATCHES * BATCH) / seconds)} tx/s`);
  } finally {
    client.disconnect();
    await cluster.stop();
  }
}

(process.argv.includes('--cluster') ? clusterRun() : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
