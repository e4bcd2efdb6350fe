/**
 * `npm run bench:replay`: the in-memory replay that train, evaluate, compromise and the demo run — the simulated
 * traffic through the in-memory state store (src/state/memory-store.ts) via the offline replay (src/offline/dataset.ts),
 * labels delivered as reported. Prints transactions per second of the store alone and of the whole replay, the time
 * for the simulation, and a digest of every feature vector, so two versions of the state code can be shown to compute
 * the same values (equal digests) as well as compared for speed.
 *
 *   npm run bench:replay -- [--days 60] [--customers 20000] [--seed 1] [--repeat 1]
 *   node --cpu-prof --import tsx bench/replay.ts   (a V8 profile of the whole run, generation included)
 *
 * The defaults are the simulator's (`npm run simulate`): 60 days of 20,000 customers.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { toCardLabel, toCardTransaction, type CardLabel, type CardTransaction } from '../src/contract/transaction';
import { replay, type ReplayStore } from '../src/offline/dataset';
import { offlineTokenizer, type SourceRecord } from '../src/offline/sources';
import { createSimulation } from '../src/sim';
import { createMemoryStore } from '../src/state/memory-store';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '60' },
    customers: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '1' },
  },
});

function simulated(): { transactions: CardTransaction[]; labels: CardLabel[] } {
  const tokenize = offlineTokenizer();
  const transactions: CardTransaction[] = [];
  const labels: CardLabel[] = [];
  for (const event of createSimulation({ seed: Number(args.seed), days: Number(args.days), customers: Number(args.customers) })) {
    if (event.kind === 'transaction') transactions.push(toCardTransaction(event.message, tokenize, 'KZT'));
    else labels.push(toCardLabel(event.message, tokenize));
  }
  return { transactions, labels };
}

async function* records(transactions: readonly CardTransaction[]): AsyncGenerator<SourceRecord> {
  for (const transaction of transactions) yield { transaction };
}

async function main(): Promise<void> {
  const generationStarted = performance.now();
  const { transactions, labels } = simulated();
  const generationSeconds = (performance.now() - generationStarted) / 1000;
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os.loadavg()[0].toFixed(1)}`);
  console.log(
    `simulation: ${args.days} days, ${Number(args.customers).toLocaleString('en')} customers: ${transactions.length.toLocaleString('en')} transactions, ${labels.length.toLocaleString('en')} labels (generated in ${generationSeconds.toFixed(1)} s, not timed below)`,
  );
  for (let run = 0; run < Number(args.repeat); run++) {
    const memory = createMemoryStore();
    // Time inside the store alone, besides the whole replay (label queue, row copies, the async generator); CPU
    // time too, steadier than wall time on a machine others share.
    let storeNs = 0n;
    let storeCpuMicros = 0;
    const timed = async <T>(work: () => Promise<T>): Promise<T> => {
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      const result = await work();
      const used = process.cpuUsage(cpu);
      storeCpuMicros += used.user + used.system;
      storeNs += process.hrtime.bigint() - started;
      return result;
    };
    const store: ReplayStore = {
      applyBatch: (batch) => timed(() => memory.applyBatch(batch)),
      recordLabels: (batch) => timed(() => memory.recordLabels(batch)),
    };
    const digest = createHash('sha256');
    let rows = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for await (const batch of replay(records(transactions), { store, labels })) {
      for (const row of batch) digest.update(new Uint8Array(row.features.buffer, row.features.byteOffset, row.features.byteLength));
      rows += batch.length;
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const storeSeconds = Number(storeNs) / 1e9;
    const perTx = (micros: number) => (micros / rows).toFixed(1);
    console.log(
      `run ${run + 1}: store ${Math.round(rows / storeSeconds).toLocaleString('en')} tx/s (${storeSeconds.toFixed(2)} s; CPU ${perTx(storeCpuMicros)} us/tx), whole replay ${Math.round(rows / seconds).toLocaleString('en')} tx/s (${seconds.toFixed(2)} s; CPU ${perTx(used.user + used.system)} us/tx, the digest of the features included); features sha256 ${digest.digest('hex').slice(0, 16)}`,
    );
    await memory.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
