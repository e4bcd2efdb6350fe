/**
 * `npm run bench:decode`: the consumer's per-message decode path (src/scoring/ingest.ts `createMessageDecoders`:
 * UTF-8 → JSON.parse → schema validation → HMAC tokenization and masking → CardTransaction) on the simulator's
 * transactions as the wire carries them (Buffers of `transactionLine`), plus its label path. Prints wall and CPU µs
 * per message for each run, a breakdown by stage on the same messages, and digests of every decoded output, of the
 * labels, and of the outcomes (reason, errors) of thousands of mutated, mostly invalid messages — so two versions of
 * src/contract can be shown to decode and reject identically (equal digests) as well as compared for speed.
 *
 *   npm run bench:decode -- [--messages 200000] [--customers 20000] [--seed 1] [--repeat 5] [--stages true]
 *   node --cpu-prof --import tsx bench/decode.ts   (a V8 profile)
 *
 * Run old and new code alternately, back to back: the machine is shared and noisy.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { cardTokenizer, maskPan } from '../src/contract/card';
import type { TransactionMessage } from '../src/contract/schemas';
import { toCardTransaction } from '../src/contract/transaction';
import { decodeTransaction, formatErrors } from '../src/contract/validate';
import { createMessageDecoders, type Decoded } from '../src/scoring/ingest';
import { createSimulation, transactionLine } from '../src/sim';
import { mutations } from '../test/support/mutations';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '200000' },
    customers: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '5' },
    stages: { type: 'string', default: 'true' },
  },
});

const KEY = Buffer.alloc(32, 0x5a);

function simulated(count: number): { transactions: Buffer[]; labels: Buffer[] } {
  const transactions: Buffer[] = [];
  const labels: Buffer[] = [];
  // as many days as it takes; the simulation streams, so stopping early costs nothing
  for (const event of createSimulation({ seed: Number(args.seed), days: 3650, customers: Number(args.customers) })) {
    if (event.kind === 'transaction') transactions.push(Buffer.from(transactionLine(event.message)));
    else labels.push(Buffer.from(JSON.stringify(event.message)));
    if (transactions.length >= count) break;
  }
  return { transactions, labels };
}

function outcome(result: Decoded<unknown>): string {
  return result.ok ? JSON.stringify(result.value) : `${result.reason} ${formatErrors(result.errors)}`;
}

interface Timing {
  wallUs: number;
  cpuUs: number;
}

/** Runs `work` once, returns wall and CPU (user + system) µs per item. */
function time(items: number, work: () => void): Timing {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  work();
  const wallNs = Number(process.hrtime.bigint() - started);
  const used = process.cpuUsage(cpu);
  return { wallUs: wallNs / 1000 / items, cpuUs: (used.user + used.system) / items };
}

const show = (t: Timing) => `${t.wallUs.toFixed(2)} us wall, ${t.cpuUs.toFixed(2)} us CPU`;

function main(): void {
  const generationStarted = performance.now();
  const { transactions, labels } = simulated(Number(args.messages));
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os.loadavg()[0].toFixed(1)}; node ${process.version}`);
  const bytes = transactions.reduce((sum, b) => sum + b.length, 0);
  console.log(
    `messages: ${transactions.length.toLocaleString('en')} transactions (mean ${Math.round(bytes / transactions.length)} bytes), ${labels.length.toLocaleString('en')} labels, seed ${args.seed} (generated in ${((performance.now() - generationStarted) / 1000).toFixed(1)} s, not timed)`,
  );

  // a fixed clock past every simulated event: the future-event check passes and the outputs do not depend on today
  const decoders = createMessageDecoders({ panHmacKey: KEY, defaultCurrency: 'KZT', maxMessageBytes: 65536, now: () => Date.parse('2100-01-01T00:00:00Z') });
  const out: Decoded<unknown>[] = new Array(transactions.length);
  for (let run = 1; run <= Number(args.repeat); run++) {
    const t = time(transactions.length, () => {
      for (let i = 0; i < transactions.length; i++) out[i] = decoders.transaction(transactions[i]);
    });
    const digest = createHash('sha256');
    let rejected = 0;
    for (const result of out) {
      if (!result.ok) rejected++;
      digest.update(outcome(result)).update('\n');
    }
    console.log(`run ${run}: transaction ${show(t)} a message; ${rejected} rejected; outputs sha256 ${digest.digest('hex').slice(0, 16)}`);
  }

  const labelOut: Decoded<unknown>[] = new Array(labels.length);
  const tl = time(labels.length, () => {
    for (let i = 0; i < labels.length; i++) labelOut[i] = decoders.label(labels[i]);
  });
  const labelDigest = createHash('sha256');
  for (const result of labelOut) labelDigest.update(outcome(result)).update('\n');
  console.log(`labels: ${show(tl)} a message (one pass, little warm-up); outputs sha256 ${labelDigest.digest('hex').slice(0, 16)}`);

  // Mutated messages: mostly invalid. Their outcomes must not change with the code; their speed matters little.
  const samples = [...transactions.slice(0, 40), ...labels.slice(0, 10)].map((b) => JSON.parse(b.toString()) as Record<string, unknown>);
  const mutated = samples.flatMap((m, i) => mutations(m).map((v) => ({ label: i >= 40, bytes: Buffer.from(JSON.stringify(v)) })));
  const rejections = createHash('sha256');
  const reasons: Record<string, number> = {};
  for (const m of mutated) {
    const result = m.label ? decoders.label(m.bytes) : decoders.transaction(m.bytes);
    const reason = result.ok ? 'ok' : result.reason;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    rejections.update(outcome(result)).update('\n');
  }
  console.log(`mutated: ${mutated.length} messages, outcomes ${JSON.stringify(reasons)}; sha256 ${rejections.digest('hex').slice(0, 16)}`);

  if (args.stages !== 'true') return;
  // Where the µs go: each stage alone, on the same messages, in the order the decoder runs them.
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const texts: string[] = new Array(transactions.length);
  const parsed: unknown[] = new Array(transactions.length);
  const messages: TransactionMessage[] = new Array(transactions.length);
  const tokenize = cardTokenizer(KEY);
  let sink = 0;
  const stages: Array<[string, () => void]> = [
    ['utf-8 decode', () => transactions.forEach((b, i) => (texts[i] = utf8.decode(b)))],
    ['JSON.parse', () => texts.forEach((s, i) => (parsed[i] = JSON.parse(s)))],
    [
      'decodeTransaction (size, utf-8, parse, validate)',
      () =>
        transactions.forEach((b, i) => {
          const r = decodeTransaction(b);
          if (r.ok) messages[i] = r.value;
        }),
    ],
    ['tokenize (HMAC-SHA-256 of the PAN)', () => messages.forEach((m) => (sink += tokenize(m.pan ?? (m.cardId as string)).length))],
    ['maskPan', () => messages.forEach((m) => (sink += m.pan === undefined ? 0 : maskPan(m.pan).length))],
    ['Date.parse(timestamp)', () => messages.forEach((m) => (sink += Date.parse(m.timestamp)))],
    ['toCardTransaction (tokenize, mask, copy)', () => messages.forEach((m) => (sink += toCardTransaction(m, tokenize, 'KZT').amount))],
    ['whole decoder', () => transactions.forEach((b) => (sink += decoders.transaction(b).ok ? 1 : 0))],
  ];
  for (let pass = 1; pass <= 2; pass++) {
    console.log(`stages, pass ${pass}:`);
    for (const [name, work] of stages) console.log(`  ${name.padEnd(50)} ${show(time(transactions.length, work))}`);
  }
  if (sink === 0) console.log('(nothing decoded)');
}

main();
