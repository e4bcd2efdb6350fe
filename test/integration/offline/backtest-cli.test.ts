import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSimulation, wireLine, type SimOptionsInput } from '../../../src/sim';
import { stackAddresses, uniqueName } from '../../support/env';
import { createTopics, testKafka } from '../../support/kafka';
import { findPans } from '../../support/pan-scan';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);
const DAY = 86_400_000;

function backtest(args: string[]) {
  return run(tsx, [join(root, 'src', 'cli', 'backtest.ts'), ...args], { cwd: root, env: process.env, maxBuffer: 1 << 24 });
}

/** Enough card testing that lowering the ten-minute velocity limit changes decisions. */
const RUN: SimOptionsInput = { seed: 11, days: 5, customers: 400, fraudRates: { 'card-testing': 80 }, labels: { unreportedShare: 0 } };
const START = Date.parse('2026-01-05T00:00:00+05:00');

/** The report from "compared …" on: what must be the same whatever the source (the lines above name the input). */
const diffPart = (stdout: string) => stdout.slice(stdout.indexOf('compared ')).replace(/^wrote .*$/m, '');
const changedLines = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n').sort();

describe('npm run backtest on a file and on a Kafka topic range', () => {
  const { kafkaBrokers } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const transactionsTopic = uniqueName('backtest-transactions');
  const labelsTopic = uniqueName('backtest-labels');
  let dir: string;
  const pans: string[] = [];
  const period = ['--from', new Date(START + DAY).toISOString(), '--to', new Date(START + 4 * DAY).toISOString(), '--compare-from', new Date(START + 2 * DAY).toISOString()];
  let candidate: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'backtest-cli-'));
    // The same simulated stream to files and to topics. Records carry their event (labels: reporting) time as the
    // Kafka timestamp, as a bank's live stream would, so a time range selects the same transactions from both.
    const transactions: string[] = [];
    const labels: string[] = [];
    const transactionMessages: Array<{ key: string; value: string; timestamp: string }> = [];
    const labelMessages: typeof transactionMessages = [];
    for (const event of createSimulation(RUN)) {
      const line = wireLine(event);
      const message = { key: event.cardRef, value: line, timestamp: String(event.atMs) };
      if (event.kind === 'transaction') {
        transactions.push(line);
        transactionMessages.push(message);
        const { pan } = JSON.parse(line) as { pan?: string };
        if (pan !== undefined) pans.push(pan);
      } else {
        labels.push(line);
        labelMessages.push(message);
      }
    }
    // The candidate: the default rules with the day's velocity limit lowered (adds alerts) and the small-amounts
    // card-testing limit raised (removes some).
    const rules = readFileSync(join(root, 'rules', 'default.yaml'), 'utf8')
      .replaceAll('file: lists/', `file: ${join(root, 'rules', 'lists')}/`)
      .replace(/^version: "(.*)"$/m, 'version: "$1-backtest-test"')
      .replace('card.count_24h: { gt: 30 }', 'card.count_24h: { gt: 8 }')
      .replace('card.small_amounts_10m: { gte: 4 }', 'card.small_amounts_10m: { gte: 10 }');
    writeFileSync(join(dir, 'candidate.yaml'), rules);
    candidate = ['--rules', join(dir, 'candidate.yaml')];
    writeFileSync(join(dir, 'traffic.ndjson'), `${transactions.join('\n')}\n`);
    writeFileSync(join(dir, 'labels.ndjson'), `${labels.join('\n')}\n`);
    await createTopics(kafka, [transactionsTopic, labelsTopic], 3);
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (const [topic, messages] of [[transactionsTopic, transactionMessages], [labelsTopic, labelMessages]] as const) {
        for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic, messages: messages.slice(i, i + 1000), acks: -1 });
      }
    } finally {
      await producer.disconnect();
    }
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [transactionsTopic, labelsTopic] });
    await admin.disconnect();
  });

  it('prints the same decision diff and writes the same changed decisions from the topic range as from the file', async () => {
    const fromFile = await backtest([...candidate, ...period, '--input', join(dir, 'traffic.ndjson'), '--labels', join(dir, 'labels.ndjson'), '--out', join(dir, 'file.ndjson')]);
    const fromTopic = await backtest([...candidate, ...period, '--topic', transactionsTopic, '--labels-topic', labelsTopic, '--brokers', kafkaBrokers.join(','), '--out', join(dir, 'topic.ndjson')]);

    // The lowered limit adds alerts, the raised one removes some, each attributed to its rule.
    const [, added, removed] = /alerts added (\d+) \(\d+ fraud\), removed (\d+)/.exec(fromFile.stdout)!.map(Number);
    expect(added).toBeGreaterThan(0);
    expect(removed).toBeGreaterThan(0);
    expect(fromFile.stdout).toMatch(new RegExp(`^ {2}card_count_velocity_24h +\\| +${added} \\(\\d+ fraud\\) +\\| +0 \\(0 fraud\\)`, 'm'));
    expect(fromFile.stdout).toMatch(new RegExp(`^ {2}card_testing_small_amounts +\\| +0 \\(0 fraud\\) +\\| +${removed} \\(`, 'm'));
    expect(fromFile.stdout).toMatch(/compared \d+ transactions, 2026-01-06T19:\d\d:\d\d\.\d+Z .. 2026-01-08T18:\d\d/);
    const lines = changedLines(join(dir, 'file.ndjson'));
    expect(lines.length).toBe(Number(/decisions changed: (\d+)/.exec(fromFile.stdout)![1]));
    for (const line of lines) {
      const changed = JSON.parse(line) as { change: string; causes: string[] };
      expect(changed.causes).toEqual([changed.change === 'added' ? 'card_count_velocity_24h' : 'card_testing_small_amounts']);
    }
    // No PAN in what is written or printed: card tokens and masked PANs only.
    for (const text of [readFileSync(join(dir, 'file.ndjson'), 'utf8'), fromFile.stdout, fromTopic.stdout, fromFile.stderr, fromTopic.stderr]) expect(findPans(text, pans)).toEqual([]);

    expect(diffPart(fromTopic.stdout)).toBe(diffPart(fromFile.stdout));
    expect(changedLines(join(dir, 'topic.ndjson'))).toEqual(lines);
  });

  it('refuses a topic that does not exist, and a candidate that is the baseline, in one line', async () => {
    const missing = await backtest([...candidate, '--topic', uniqueName('no-such-topic'), '--brokers', kafkaBrokers.join(',')]).catch((e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^backtest: topic no-such-topic-\S+ does not exist$/);
    const same = await backtest(['--topic', transactionsTopic, '--brokers', kafkaBrokers.join(',')]).catch((e) => e);
    expect(same.code).toBe(1);
    expect(same.stderr.trim()).toMatch(/^backtest: the candidate is the baseline/);
  });
});
