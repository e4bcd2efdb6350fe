/**
 * `npm run bench:script`: where the Redis time of the state goes. Replays the updateBatch calls the Redis store
 * makes for bench:state's traffic (captured from the store itself, with a client that never answers) straight
 * against Redis, and reports Redis CPU per transaction (INFO cpu, server-wide: run it on a quiet Redis) for the
 * script as it is and for variants of its text:
 *
 *   x2:<COMMAND>   every redis.call of that command made twice (the second's reply ignored; all are idempotent
 *                  or no-ops when repeated): the difference is what those calls cost
 *   no-reply       the reply not built (the client gets no chunks): what building and sending the reply costs
 *
 *   npm run bench:script -- [--variant x2:SETRANGE] [--variant no-reply] [--rounds 2]
 *
 * It also reports, per variant, the Redis commands the script calls per transaction and what they cost by themselves
 * (INFO commandstats): the floor of any script that makes the same calls. Variants only measure: their state is
 * deleted after each run. Node's side (encoding, decoding, features) is not counted here; bench:state measures both.
 */
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import type { CardTransaction } from '../src/contract/transaction';
import { connectRedis } from '../src/state/redis-connection';
import { createRedisStore } from '../src/state/redis-store';
import { assembleScripts } from '../src/state/scripts';
import { deleteStateKeys, redisCpuSeconds } from './state-redis';
import { trafficStream } from './state-traffic';

const BATCH = 500;
const WARMUP_BATCHES = 10;
const MEASURED_BATCHES = 70;

type Args = Array<string | number | Buffer>;

/** The script calls the Redis store sends for each batch, captured from a client that records and never answers. */
function capturedCalls(batches: readonly CardTransaction[][], prefix: string): Args[][] {
  const perBatch: Args[][] = [];
  let current: Args[] = [];
  const client: Record<string, unknown> = {
    defineCommand(name: string) {
      client[`${name}Buffer`] = (...args: Args) => {
        current.push(args);
        return new Promise(() => {});
      };
    },
  };
  const store = createRedisStore(client as never, { keyPrefix: prefix });
  for (const batch of batches) {
    current = [];
    void store.applyBatch(batch).catch(() => {}); // the calls are sent synchronously; the replies never come
    perBatch.push(current);
  }
  return perBatch;
}

function variantOf(name: string, lua: string): string {
  if (name === 'base') return lua;
  if (name === 'no-reply') {
    const changed = lua.replace(/local function put\(piece\)\n[^]*?\nend/, 'local function put(piece) end');
    if (changed === lua) throw new Error('no-reply: replyBuffer.lua no longer has put(piece)');
    return changed;
  }
  const command = /^x2:([A-Z]+)$/.exec(name)?.[1];
  if (command === undefined) throw new Error(`unknown variant ${name}: use no-reply or x2:<COMMAND>`);
  const call = new RegExp(`redis\\.call\\('${command}'`, 'g');
  if (!call.test(lua)) throw new Error(`${name}: the script never calls ${command}`);
  return `local function callTwice(...) local reply = redis.call(...) redis.call(...) return reply end\n${lua.replace(call, `callTwice('${command}'`)}`;
}

/** Calls and CPU time (µs) of each command so far (INFO commandstats, server-wide), the script's own call left out. */
async function commandCosts(redis: Redis): Promise<Map<string, { calls: number; micros: number }>> {
  const costs = new Map<string, { calls: number; micros: number }>();
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    const name = (match[1] as string).toUpperCase();
    if (name !== 'EVALSHA' && name !== 'INFO') costs.set(name, { calls: Number(match[2]), micros: Number(match[3]) });
  }
  return costs;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { variant: { type: 'string', multiple: true, default: [] }, rounds: { type: 'string', default: '2' } } });
  const variants = ['base', ...(values.variant ?? [])];
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = connectRedis({ redisUrl, redisClusterNodes: [] }) as Redis;
  const script = assembleScripts().find((s) => s.name === 'updateBatch');
  if (script === undefined) throw new Error('no updateBatch script');
  const stream = trafficStream((WARMUP_BATCHES + MEASURED_BATCHES) * BATCH);
  const batches = Array.from({ length: WARMUP_BATCHES + MEASURED_BATCHES }, (_, b) => stream.slice(b * BATCH, (b + 1) * BATCH));
  const results = new Map<string, number[]>();
  const commandsOf = new Map<string, Array<{ command: string; calls: number; micros: number }>>();
  try {
    // Rounds alternate the variants, so a change in machine load shows as spread rather than as a difference.
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const name of variants) {
        const sha = (await redis.script('LOAD', variantOf(name, script.lua))) as string;
        const prefix = `bench:script:${process.pid}:${round}:${name}:`;
        const calls = capturedCalls(batches, prefix);
        let before = 0;
        let commandsBefore = new Map<string, { calls: number; micros: number }>();
        for (let b = 0; b < calls.length; b++) {
          if (b === WARMUP_BATCHES) [before, commandsBefore] = [await redisCpuSeconds(redis), await commandCosts(redis)];
          await Promise.all(calls[b].map((args) => redis.evalsha(sha, ...(args as [number, ...Args]))));
        }
        const measured = MEASURED_BATCHES * BATCH;
        const microsPerTx = (((await redisCpuSeconds(redis)) - before) * 1e6) / measured;
        results.set(name, [...(results.get(name) ?? []), microsPerTx]);
        if (round === 0) {
          const used = [...(await commandCosts(redis))].map(([command, { calls, micros }]) => {
            const earlier = commandsBefore.get(command) ?? { calls: 0, micros: 0 };
            return { command, calls: (calls - earlier.calls) / measured, micros: (micros - earlier.micros) / measured };
          });
          commandsOf.set(name, used.filter((c) => c.calls > 0).sort((a, b) => b.micros - a.micros));
        }
        await deleteStateKeys(redis, prefix);
      }
    }
  } finally {
    redis.disconnect();
  }
  console.log(`Redis CPU per transaction, updateBatch alone, batch ${BATCH}, ${MEASURED_BATCHES * BATCH} transactions per run (${redisUrl.replace(/\/\/[^@]*@/, '//')}):`);
  for (const [name, runs] of results) console.log(`  ${name.padEnd(14)} ${runs.map((us) => `${us.toFixed(1)} µs`).join('  ')}`);
  // What the Redis commands the script calls cost by themselves (their execution as Redis times it, without the
  // script's call into Redis or its own Lua work): the floor of any script making these calls.
  for (const [name, commands] of commandsOf) {
    const total = commands.reduce((sum, c) => sum + c.micros, 0);
    const calls = commands.reduce((sum, c) => sum + c.calls, 0);
    console.log(`  ${name}: its ${calls.toFixed(1)} Redis commands per transaction take ${total.toFixed(1)} µs by themselves (INFO commandstats, first round):`);
    console.log(`    ${commands.map((c) => `${c.command} ${c.calls.toFixed(1)} x ${(c.micros / c.calls).toFixed(2)} µs`).join(', ')}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
