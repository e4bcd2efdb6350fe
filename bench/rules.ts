/**
 * Cost of the rules on the hot path: evaluating the shipped rule set (rules/default.yaml) per transaction, the
 * decision policy after it, and compiling the file. The target is under 5 µs per transaction for evaluation.
 *
 * Transactions and feature vectors are synthetic but shaped like traffic: a seeded mix of ordinary cardholders
 * (low velocity, amounts near the card's own mean, mostly domestic card-present) with about 4% spread over the
 * patterns the rules look for, so the figure includes building reasons for the hits. The lists are filled
 * (10 000 blocked cards, 2 000 compromised terminals) so membership tests run against real-sized sets.
 *
 *   npm run bench:rules            (BENCH_TRANSACTIONS, BENCH_ROUNDS to change the size; defaults 20000 × 15)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CardTransaction } from '../src/contract/transaction';
import { decide } from '../src/decision/policy';
import { compileRuleSet, type RuleHit, type RuleSet } from '../src/rules';
import { FEATURE_INDEX, FEATURE_NAMES, NO_PREVIOUS_SECONDS } from '../src/state/features';

const TRANSACTIONS = Number(process.env.BENCH_TRANSACTIONS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const WARMUP_ROUNDS = 5;
const rulesDirectory = join(__dirname, '..', 'rules');

/** mulberry32: a seeded generator, so every run measures the same traffic. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const token = (i: number) => createHash('sha256').update(`card-${i}`).digest('hex');

function loadRuleSet(): { ruleSet: RuleSet; source: string; readListFile: (path: string) => string } {
  const source = readFileSync(join(rulesDirectory, 'default.yaml'), 'utf8');
  const filled: Record<string, string> = {
    'lists/blocked-cards.txt': Array.from({ length: 10_000 }, (_, i) => token(1_000_000 + i)).join('\n'),
    'lists/compromised-terminals.txt': Array.from({ length: 2_000 }, (_, i) => `t-bad-${i}`).join('\n'),
    'lists/compromised-merchants.txt': Array.from({ length: 200 }, (_, i) => `m-bad-${i}`).join('\n'),
    'lists/trusted-merchants.txt': Array.from({ length: 50 }, (_, i) => `m-transit-${i}`).join('\n'),
  };
  const readListFile = (path: string) => filled[path] ?? readFileSync(join(rulesDirectory, path), 'utf8');
  return { ruleSet: compileRuleSet(source, { featureIndex: FEATURE_INDEX, sourceName: 'rules/default.yaml', readListFile }), source, readListFile };
}

interface Sample {
  txn: CardTransaction;
  features: Float64Array;
}

function traffic(count: number): Sample[] {
  const random = seeded(20261130);
  const between = (low: number, high: number) => low + random() * (high - low);
  const whole = (low: number, high: number) => Math.floor(between(low, high + 1));
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const at = (vector: Float64Array, name: string, value: number) => {
    vector[FEATURE_INDEX[name as keyof typeof FEATURE_INDEX]] = value;
  };
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const features = new Float64Array(FEATURE_NAMES.length);
    const cardPresent = random() < 0.75;
    const hour = whole(7, 22);
    const txn: CardTransaction = {
      transactionId: `tx-${i}`,
      eventTimeMs: Date.parse('2026-11-30T00:00:00+05:00') + i * 1000,
      timestamp: `2026-11-30T${String(hour).padStart(2, '0')}:${String(whole(0, 59)).padStart(2, '0')}:00+05:00`,
      cardToken: token(i % 5000),
      amount: Math.round(Math.exp(between(Math.log(500), Math.log(60_000)))),
      currency: 'KZT',
      accountId: `acc-${i % 4000}`,
      merchantId: `m-${whole(0, 3000)}`,
      terminalId: `t-${whole(0, 9000)}`,
      mcc: ['5411', '5812', '5541', '5912', '4111', '5311', '5999'][whole(0, 6)],
      country: random() < 0.95 ? 'KZ' : ['TR', 'AE', 'RU', 'GE'][whole(0, 3)],
      channel: cardPresent ? 'pos' : 'ecom',
      entryMode: cardPresent ? (random() < 0.7 ? 'contactless' : 'chip') : 'ecom',
      cardPresent,
      approved: random() < 0.97,
    };
    const count24h = whole(1, 8);
    const mean30d = between(3000, 30_000);
    at(features, 'card.count_10m', whole(1, 2));
    at(features, 'card.count_1h', whole(1, 3));
    at(features, 'card.count_24h', count24h);
    at(features, 'card.count_7d', count24h + whole(2, 25));
    at(features, 'card.count_30d', count24h + whole(10, 90));
    at(features, 'card.amount_1h', txn.amount * between(1, 2));
    at(features, 'card.amount_24h', txn.amount * count24h * between(0.5, 1.5));
    at(features, 'card.avg_amount_30d', mean30d);
    at(features, 'card.amount_zscore', normal());
    at(features, 'card.amount_ratio_30d', txn.amount / mean30d);
    at(features, 'card.seconds_since_last', between(60, NO_PREVIOUS_SECONDS));
    at(features, 'card.declines_10m', txn.approved ? 0 : 1);
    at(features, 'card.small_amounts_10m', txn.amount <= 1000 ? 1 : 0);
    at(features, 'card.distance_km_from_last_present', cardPresent ? between(0, 15) : 0);
    at(features, 'card.speed_kmh_from_last_present', cardPresent ? between(0, 40) : 0);
    at(features, 'card.first_country', txn.country !== 'KZ' && random() < 0.5 ? 1 : 0);
    at(features, 'card.first_mcc', random() < 0.05 ? 1 : 0);
    at(features, 'account.count_1h', whole(1, 4));
    at(features, 'account.amount_24h', txn.amount * count24h * between(0.5, 2));
    at(features, 'terminal.distinct_cards_1h', whole(1, 15));
    at(features, 'terminal.distinct_cards_7d', whole(200, 3000));
    at(features, 'device.distinct_cards_24h', cardPresent ? 0 : whole(1, 2));

    // About 4% carry one of the patterns the rules look for.
    const pattern = random() < 0.04 ? whole(0, 7) : -1;
    if (pattern === 0) at(features, 'card.count_10m', whole(6, 12));
    if (pattern === 1) {
      at(features, 'card.speed_kmh_from_last_present', between(1000, 5000));
      at(features, 'card.distance_km_from_last_present', between(300, 3000));
      txn.cardPresent = true;
    }
    if (pattern === 2) at(features, 'card.small_amounts_10m', whole(4, 9));
    if (pattern === 3) at(features, 'card.declines_10m', whole(4, 8));
    if (pattern === 4) {
      at(features, 'card.amount_ratio_30d', between(9, 40));
      at(features, 'card.amount_zscore', between(5, 20));
    }
    if (pattern === 5) txn.terminalId = `t-bad-${whole(0, 1999)}`;
    if (pattern === 6) {
      Object.assign(txn, { channel: 'atm', mcc: '6011', timestamp: '2026-11-30T03:10:00+05:00' });
      at(features, 'card.count_1h', whole(3, 6));
    }
    if (pattern === 7) txn.cardToken = token(1_000_000 + whole(0, 9999));
    samples.push({ txn, features });
  }
  return samples;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs `body` over every sample per round; returns ns per sample for each measured round. */
function measure(samples: Sample[], body: (sample: Sample) => unknown): number[] {
  let sink = 0;
  const perRound: number[] = [];
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < samples.length; i++) if (body(samples[i])) sink++;
    const elapsed = Number(process.hrtime.bigint() - started);
    if (round >= WARMUP_ROUNDS) perRound.push(elapsed / samples.length);
  }
  if (sink < 0) console.log(sink); // keeps the results alive so the loop is not optimised away
  return perRound;
}

function report(label: string, nsPerItem: number[]): void {
  const fmt = (ns: number) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
  console.log(`${label.padEnd(44)} median ${fmt(median(nsPerItem)).padStart(9)}   best ${fmt(Math.min(...nsPerItem)).padStart(9)}   worst ${fmt(Math.max(...nsPerItem)).padStart(9)}`);
}

function main(): void {
  const { ruleSet, source, readListFile } = loadRuleSet();
  const samples = traffic(TRANSACTIONS);
  const hitting = samples.filter((s) => ruleSet.evaluate(s.txn, s.features).length > 0);
  const hitsBySample = samples.map((s) => ruleSet.evaluate(s.txn, s.features));
  const policy = { reviewThreshold: 0.5, blockThreshold: 0.85 };

  console.log(`node ${process.version}, rule set ${ruleSet.version}: ${ruleSet.rules.length} rules, ${FEATURE_NAMES.length} features`);
  console.log(`${samples.length} transactions × ${ROUNDS} rounds (after ${WARMUP_ROUNDS} warm-up); ${((100 * hitting.length) / samples.length).toFixed(1)}% hit at least one rule`);
  report('evaluate, all traffic (per transaction)', measure(samples, (s) => ruleSet.evaluate(s.txn, s.features).length));
  report('evaluate, transactions with hits only', measure(hitting, (s) => ruleSet.evaluate(s.txn, s.features).length));
  let index = 0;
  report('decide (rules + model score)', measure(samples, () => {
    const hits: RuleHit[] = hitsBySample[index++ % hitsBySample.length];
    return decide({ hits, modelScore: 0.12 }, policy).score;
  }));

  const compileRuns: number[] = [];
  for (let i = 0; i < 20; i++) {
    const started = process.hrtime.bigint();
    compileRuleSet(source, { featureIndex: FEATURE_INDEX, readListFile });
    compileRuns.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  console.log(`${'compile default.yaml with filled lists'.padEnd(44)} median ${median(compileRuns).toFixed(2)} ms (once per reload)`);
}

main();
