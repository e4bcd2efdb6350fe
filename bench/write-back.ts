/**
 * `npm run bench:write-back`: what the partition-owned state design of issue #15 would cost in Redis, measured
 * before building it. Node computes every update with the state code the in-memory store runs (twin.ts, features.ts)
 * on entities it holds, and each chunk of 500 writes back only what changed, with native commands — no Lua
 * arithmetic: per touched entity its whole aggregate (SET ... PX), a card's places (SET) and new references (HSET),
 * an entity's new seen members (ZADD), each key's expiry. Two variants of the write:
 *
 *   native  the commands pipelined, no guard (what one owner per partition could send)
 *   guarded the same commands inside one small Lua script per 200 entities that first checks each entity's write
 *           version (a compare-and-set: a zombie owner or a card on two partitions is caught instead of overwriting)
 *   raw     the native commands encoded by this bench into one RESP buffer a chunk and written to a socket of its
 *           own (replies counted, not parsed into objects): what Node pays when the client's per-argument encoding
 *           (ioredis builds each command argument by argument) is taken out
 *
 * and the cold path: loading every entity of the run back (GET, HGETALL, ZRANGEBYSCORE), what a new owner pays once
 * per entity after an assignment. Prints per transaction: Redis CPU (INFO cpu, server-wide), Node CPU, Redis
 * commands (INFO commandstats) and bytes sent. Same traffic as bench:state (bench/state-traffic.ts). The run's keys
 * are deleted afterwards. This is a measurement of the design, not the service's store (src/state/redis-store.ts).
 *
 *   npm run bench:write-back -- [--chunks 80] [--repeat 2]
 */
import net from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import type { CardTransaction } from '../src/contract/transaction';
import { ReturnCode } from '../src/state/codes';
import { LAYOUT_OF, LINKED_KINDS, cardEventOf, entityEventOf, linkedIdOf, type LinkedKind } from '../src/state/entity-events';
import { featureRows, setCardFeatures, setLinkedFeatures } from '../src/state/features';
import { cardKeys, entityKeys } from '../src/state/keys';
import { LAYOUTS } from '../src/state/layout';
import { STATE_HORIZON_MS, resolveOptions, stateTtlMs } from '../src/state/options';
import { connectRedis } from '../src/state/redis-connection';
import { SEEN_OFFSET_MS } from '../src/state/scripts';
import { applyCardEvent, applyEntityEvent, newCardState, newEntityState, type CardState, type EntityState } from '../src/state/twin';
import { commandCalls, deleteStateKeys, redisCpuSeconds } from './state-redis';
import { trafficStream } from './state-traffic';

const { values: args } = parseArgs({ options: { chunks: { type: 'string', default: '80' }, repeat: { type: 'string', default: '2' } } });
const CHUNK = 500;
const WARMUP_CHUNKS = 10;
const ENTITIES_PER_SCRIPT = 200;

/** Checks each entity's version key, then runs its writes: KEYS per entity [version, ...keys]; ARGV per entity
 * [expected, next, #keys, then per key: command, #args, args...]. Returns the entities whose version differed. */
const GUARDED_WRITE = `
local conflicts = {}
local a, k, entity = 1, 1, 0
while a <= #ARGV do
  entity = entity + 1
  local expected, nextVersion, keyCount = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local stored = redis.call('GET', KEYS[k]) or ''
  local ok = stored == expected
  if ok then redis.call('SET', KEYS[k], nextVersion, 'PX', ARGV[a]) else conflicts[#conflicts + 1] = entity end
  a = a + 1
  for j = 1, keyCount do
    local command, n = ARGV[a], tonumber(ARGV[a + 1])
    if ok then redis.call(command, KEYS[k + j], unpack(ARGV, a + 2, a + 1 + n)) end
    a = a + 2 + n
  end
  k = k + 1 + keyCount
end
return conflicts
`;

type Write = { key: string; command: string; args: Array<string | Buffer | number> };

interface Held<S> {
  state: S;
  version: string;
}

function referenceValue(minute: number, terminalId: string, merchantId: string): Buffer {
  const terminal = Buffer.from(terminalId);
  const head = Buffer.allocUnsafe(7);
  head.writeUInt32LE(minute, 0);
  head.writeUInt8(0, 4);
  head.writeUInt16LE(terminal.length, 5);
  return Buffer.concat([head, terminal, Buffer.from(merchantId)]);
}

type Variant = 'native' | 'guarded' | 'raw';

async function serverCounters(redis: Redis): Promise<{ cpu: number; calls: number }> {
  return { cpu: await redisCpuSeconds(redis), calls: await commandCalls(redis) };
}

/** RESP encoding of commands into one buffer (arrays of bulk strings), the way a client of our own would write them. */
function encodeCommands(commands: ReadonlyArray<readonly (string | Buffer | number)[]>): Buffer {
  const parts: Buffer[] = [];
  let text = '';
  for (const command of commands) {
    text += `*${command.length}\r\n`;
    for (const arg of command) {
      if (Buffer.isBuffer(arg)) {
        text += `$${arg.length}\r\n`;
        parts.push(Buffer.from(text, 'latin1'), arg);
        text = '\r\n';
      } else {
        const value = String(arg);
        text += `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
      }
    }
  }
  parts.push(Buffer.from(text, 'latin1'));
  return Buffer.concat(parts);
}

/** A socket that sends a chunk's commands and resolves once as many replies (one line each: +OK or :n) have come. */
async function rawConnection(url: string): Promise<{ send(commands: Buffer, replies: number): Promise<void>; close(): void }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port || 6379), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let waiting: { left: number; resolve: () => void; reject: (e: Error) => void } | undefined;
  let lineStart = true; // replies are one line each; an error reply is a line starting with '-'
  socket.on('data', (data: Buffer) => {
    if (waiting === undefined) return;
    for (let i = 0; i < data.length; i++) {
      if (lineStart && data[i] === 0x2d) waiting.reject(new Error(data.toString('latin1', i, data.indexOf(10, i))));
      lineStart = data[i] === 10;
      if (lineStart) waiting.left--;
    }
    if (waiting.left <= 0) {
      const done = waiting.resolve;
      waiting = undefined;
      done();
    }
  });
  return {
    send: (commands, replies) =>
      new Promise<void>((resolve, reject) => {
        waiting = { left: replies, resolve, reject };
        socket.write(commands);
      }),
    close: () => socket.destroy(),
  };
}

async function run(redis: Redis, stream: readonly CardTransaction[], variant: Variant, runId: string): Promise<void> {
  const guarded = variant === 'guarded';
  const raw = variant === 'raw' ? await rawConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
  const prefix = `bench:write-back:${process.pid}:${runId}:`;
  const options = resolveOptions();
  const params = { allowedLatenessMs: options.allowedLatenessMs, horizonMs: STATE_HORIZON_MS };
  const ttl = String(stateTtlMs());
  const cards = new Map<string, Held<CardState>>();
  const entities = new Map<string, Held<EntityState> & { kind: LinkedKind; id: string }>();
  let writeCounter = 0;
  const nonce = Math.random().toString(36).slice(2, 8);
  let bytes = 0;

  /** One chunk: every update in Node, then one write of what changed. */
  async function chunk(txns: readonly CardTransaction[]): Promise<void> {
    const rows = featureRows(txns.length);
    const cardWrites = new Map<string, { held: Held<CardState>; refs: Array<string | Buffer>; token: string }>();
    const entityWrites = new Map<string, { held: Held<EntityState>; kind: LinkedKind; id: string; seen: Array<string | Buffer | number> }>();
    txns.forEach((txn, i) => {
      let card = cards.get(txn.cardToken);
      if (card === undefined) cards.set(txn.cardToken, (card = { state: newCardState(), version: '' }));
      const cardEvent = cardEventOf(txn, options);
      const update = applyCardEvent(LAYOUTS.card, card.state, cardEvent, params);
      setCardFeatures(rows[i], update, txn, options);
      if (update.code === ReturnCode.Applied) {
        const pending = cardWrites.get(txn.cardToken) ?? { held: card, refs: [], token: txn.cardToken };
        pending.refs.push(cardEvent.fingerprint, referenceValue(Math.floor(txn.eventTimeMs / 60_000), txn.terminalId ?? '', txn.merchantId ?? ''));
        cardWrites.set(txn.cardToken, pending);
      }
      const entityEvent = entityEventOf(txn, cardEvent);
      for (const kind of LINKED_KINDS) {
        const id = linkedIdOf(txn, kind);
        if (id === undefined) continue;
        const name = `${kind}\u0000${id}`;
        let entity = entities.get(name);
        if (entity === undefined) entities.set(name, (entity = { state: newEntityState(), version: '', kind, id }));
        const entityUpdate = applyEntityEvent(LAYOUTS[LAYOUT_OF[kind]], entity.state, entityEvent, params);
        setLinkedFeatures(rows[i], kind, entityUpdate, txn, options);
        if (entityUpdate.code === ReturnCode.Applied) {
          const pending = entityWrites.get(name) ?? { held: entity, kind, id, seen: [] };
          pending.seen.push(SEEN_OFFSET_MS + txn.eventTimeMs, entityEvent.fingerprint);
          if (LAYOUTS[LAYOUT_OF[kind]].cardsHorizonMs > 0) pending.seen.push(txn.eventTimeMs, entityEvent.cardFingerprint);
          entityWrites.set(name, pending);
        }
      }
    });

    const groups: Array<{ held: Held<unknown>; versionKey: string; writes: Write[] }> = [];
    for (const { held, refs, token } of cardWrites.values()) {
      const keys = cardKeys(prefix, token);
      groups.push({
        held,
        versionKey: `${keys.aggregates}:v`,
        writes: [
          { key: keys.aggregates, command: 'SET', args: [held.state.aggregate as Buffer, 'PX', ttl] },
          { key: keys.places, command: 'SET', args: [held.state.places, 'PX', ttl] },
          { key: keys.references, command: 'HSET', args: refs },
          { key: keys.references, command: 'PEXPIRE', args: [ttl] },
        ],
      });
    }
    for (const { held, kind, id, seen } of entityWrites.values()) {
      const keys = entityKeys(prefix, kind, id);
      groups.push({
        held,
        versionKey: `${keys.aggregates}:v`,
        writes: [
          { key: keys.aggregates, command: 'SET', args: [held.state.aggregate as Buffer, 'PX', ttl] },
          { key: keys.seen, command: 'ZADD', args: seen },
          { key: keys.seen, command: 'PEXPIRE', args: [ttl] },
        ],
      });
    }
    for (const group of groups) for (const write of group.writes) for (const arg of write.args) bytes += typeof arg === 'string' ? arg.length : Buffer.isBuffer(arg) ? arg.length : 8;

    if (raw !== undefined) {
      const commands = groups.flatMap((group) => group.writes.map((write) => [write.command, write.key, ...write.args]));
      await raw.send(encodeCommands(commands), commands.length);
      return;
    }
    if (!guarded) {
      const pipeline = redis.pipeline();
      for (const group of groups) for (const write of group.writes) pipeline.call(write.command, write.key, ...write.args);
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
      return;
    }
    const calls: Array<Promise<unknown>> = [];
    for (let from = 0; from < groups.length; from += ENTITIES_PER_SCRIPT) {
      const keys: string[] = [];
      const argv: Array<string | Buffer | number> = [];
      for (const group of groups.slice(from, from + ENTITIES_PER_SCRIPT)) {
        const next = `${nonce}${(writeCounter++).toString(36)}`;
        keys.push(group.versionKey);
        argv.push(group.held.version, next, group.writes.length, ttl);
        for (const write of group.writes) {
          keys.push(write.key);
          argv.push(write.command, write.args.length, ...write.args);
        }
        group.held.version = next;
      }
      calls.push(redis.eval(GUARDED_WRITE, keys.length, ...keys, ...argv));
    }
    const replies = (await Promise.all(calls)) as unknown[][];
    if (replies.some((conflicts) => conflicts.length > 0)) throw new Error('a write version differed: another writer');
  }

  const measured = stream.length / CHUNK - WARMUP_CHUNKS;
  for (let c = 0; c < WARMUP_CHUNKS; c++) await chunk(stream.slice(c * CHUNK, (c + 1) * CHUNK));
  bytes = 0;
  const before = await serverCounters(redis);
  const nodeBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let c = WARMUP_CHUNKS; c < WARMUP_CHUNKS + measured; c++) await chunk(stream.slice(c * CHUNK, (c + 1) * CHUNK));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const node = process.cpuUsage(nodeBefore);
  const after = await serverCounters(redis);
  const n = measured * CHUNK;
  const perTx = (x: number) => (x / n).toFixed(1);
  console.log(
    `${variant.padEnd(7)} write-back: ${Math.round(n / seconds).toLocaleString('en')} tx/s; per transaction Redis CPU ${perTx((after.cpu - before.cpu) * 1e6)} us, Node CPU ${perTx(node.user + node.system)} us (updates, features and the write), ${perTx(after.calls - before.calls)} Redis commands, ${perTx(bytes)} B of arguments`,
  );

  // The cold path: a new owner loads each entity once.
  const loadBefore = await serverCounters(redis);
  const loadStarted = process.hrtime.bigint();
  const names = [...cards.keys()];
  for (let from = 0; from < names.length; from += CHUNK) {
    const pipeline = redis.pipeline();
    for (const token of names.slice(from, from + CHUNK)) {
      const keys = cardKeys(prefix, token);
      pipeline.getBuffer(`${keys.aggregates}:v`).getBuffer(keys.aggregates).getBuffer(keys.places).hgetallBuffer(keys.references);
    }
    await pipeline.exec();
  }
  const loadSeconds = Number(process.hrtime.bigint() - loadStarted) / 1e9;
  const loadAfter = await serverCounters(redis);
  console.log(
    `  cold load of ${names.length.toLocaleString('en')} cards (version, aggregates, places, references): ${Math.round(names.length / loadSeconds).toLocaleString('en')} cards/s, Redis CPU ${(((loadAfter.cpu - loadBefore.cpu) * 1e6) / names.length).toFixed(1)} us a card`,
  );
  raw?.close();
  await deleteStateKeys(redis, prefix);
}

async function main(): Promise<void> {
  const redis = connectRedis({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', redisClusterNodes: [] }) as Redis;
  try {
    await redis.ping();
    console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os.loadavg()[0].toFixed(1)}`);
    const stream = trafficStream((WARMUP_CHUNKS + Number(args.chunks)) * CHUNK);
    for (let r = 0; r < Number(args.repeat); r++) {
      for (const variant of ['native', 'guarded', 'raw'] as const) await run(redis, stream, variant, `${variant}${r}`);
    }
  } finally {
    await redis.quit();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
