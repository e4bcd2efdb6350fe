/**
 * `npm run bench:sim [-- --transactions 10000000 --customers 100000 --out FILE --keep]`
 *
 * Writes N transactions (with their labels and truth files) to disk through the same path as `npm run simulate`
 * and prints throughput and memory: peak RSS, and RSS and heap at every tenth of the run to show that memory stays
 * flat. The target is 10 M transactions in under two minutes.
 */
import { rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSimulation } from '../src/sim';
import { drive } from '../src/sim/output/drive';
import { NdjsonFileWriter } from '../src/sim/output/ndjson-file';

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      transactions: { type: 'string', default: '10000000' },
      customers: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const transactions = Number(values.transactions);
  const customers = Number(values.customers);
  if (!Number.isSafeInteger(transactions) || transactions < 1) throw new Error('--transactions must be a positive whole number');
  if (!Number.isSafeInteger(customers) || customers < 1) throw new Error('--customers must be a positive whole number');
  const out = values.out ?? join(tmpdir(), `card-shield-bench-sim-${process.pid}.ndjson`);
  const labelsOut = `${out}.labels`;
  const truthOut = `${out}.truth`;

  const buildStart = performance.now();
  // About 1.8 transactions per customer and day: plan a few days more than N needs and stop at N, so that breach
  // windows and fraudulent points are scheduled over the stretch actually simulated.
  const days = Math.min(3650, Math.ceil(transactions / (customers * 1.5)) + 2);
  const simulation = createSimulation({ seed: Number(values.seed), customers, days, maxTransactions: transactions });
  const buildMs = performance.now() - buildStart;

  const loadBefore = loadavg()[0];
  const cpuBefore = process.cpuUsage();
  const checkpoints: string[] = [];
  let nextCheckpoint = 0.1;
  const result = await drive(simulation, {
    transactionsFile: new NdjsonFileWriter(out),
    labelsFile: new NdjsonFileWriter(labelsOut),
    truthFile: new NdjsonFileWriter(truthOut),
    onProgress: (p) => {
      if (p.transactions < nextCheckpoint * transactions) return;
      const memory = process.memoryUsage();
      checkpoints.push(`  ${String(Math.round(nextCheckpoint * 100)).padStart(3)}%  ${(p.transactions / 1e6).toFixed(2).padStart(6)} M  rss ${(memory.rss / MB).toFixed(0).padStart(5)} MB  heap ${(memory.heapUsed / MB).toFixed(0).padStart(5)} MB`);
      nextCheckpoint += 0.1;
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const seconds = result.elapsedMs / 1000;
  console.log(`bench:sim  ${result.transactions.toLocaleString('en-US')} transactions, ${result.labels.toLocaleString('en-US')} labels, ${customers.toLocaleString('en-US')} customers`);
  console.log(`  population built in   ${(buildMs / 1000).toFixed(1)} s`);
  console.log(`  generated and written ${seconds.toFixed(1)} s  (${Math.round(result.transactions / seconds).toLocaleString('en-US')} transactions/s)`);
  // The machine is shared: CPU time says what the work costs, the load average how much else was running.
  console.log(`  CPU time              ${cpuSeconds.toFixed(1)} s  (${Math.round(result.transactions / cpuSeconds).toLocaleString('en-US')} transactions per CPU second; load average ${loadBefore.toFixed(1)} -> ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)`);
  console.log(`  peak RSS              ${peakRssMb.toFixed(0)} MB`);
  console.log('  memory through the run:');
  for (const line of checkpoints) console.log(line);
  console.log(`  target: 10 M transactions in under 120 s -> ${result.transactions >= 10_000_000 ? (seconds < 120 ? 'met' : 'NOT met') : `extrapolated ${((seconds * 10_000_000) / result.transactions).toFixed(0)} s for 10 M`}`);
  if (values.keep) console.log(`  kept ${out}, ${labelsOut}, ${truthOut}`);
  else for (const file of [out, labelsOut, truthOut]) rmSync(file, { force: true });
}

main().catch((error: unknown) => {
  console.error(`bench:sim: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
