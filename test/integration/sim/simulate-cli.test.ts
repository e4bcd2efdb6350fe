import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stackAddresses, uniqueName } from '../../support/env';
import { testKafka } from '../../support/kafka';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);

function simulate(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(tsx, [join(root, 'src', 'cli', 'simulate.ts'), ...args], { cwd: root, env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('npm run simulate', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'simulate-cli-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const flags = ['--seed', '3', '--days', '4', '--customers', '300', '--fraud', 'point-of-compromise=40,fraudulent-merchant=20'];
  const countIn = (stdout: string, what: string) => Number(new RegExp(`^${what} +([\\d,]+)`, 'm').exec(stdout)![1].replace(/,/g, ''));

  it('writes byte-identical transactions, labels and truth for the same flags', async () => {
    const outputs = (name: string) => ['--out', join(dir, `${name}.ndjson`), '--labels-out', join(dir, `${name}.labels`), '--truth-out', join(dir, `${name}.truth`)];
    const a = await simulate([...flags, ...outputs('a')]);
    await simulate([...flags, ...outputs('b')]);
    for (const suffix of ['.ndjson', '.labels', '.truth']) expect(sha(join(dir, `b${suffix}`))).toBe(sha(join(dir, `a${suffix}`)));
    expect(readFileSync(join(dir, 'a.ndjson'), 'utf8').trimEnd().split('\n')).toHaveLength(countIn(a.stdout, 'transactions'));
    expect(readFileSync(join(dir, 'a.labels'), 'utf8').trimEnd().split('\n')).toHaveLength(countIn(a.stdout, 'labels'));
  });

  it('writes labels.ndjson and truth.ndjson beside --out by default', async () => {
    const { stdout } = await simulate([...flags, '--out', join(dir, 'traffic.ndjson')]);
    const truth = readFileSync(join(dir, 'truth.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(truth.filter((t) => t.type === 'point').length).toBeGreaterThan(0);
    expect(truth.filter((t) => t.type === 'fraud').length).toBe(countIn(stdout, 'fraud transactions'));
    expect(readFileSync(join(dir, 'labels.ndjson'), 'utf8').trimEnd().split('\n')).toHaveLength(countIn(stdout, 'labels'));
  });

  it('fails with the file named when it cannot write', async () => {
    const failed = await simulate(['--days', '1', '--customers', '20', '--out', join(dir, 'missing', 'traffic.ndjson')]).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(join(dir, 'missing'));
  });

  it('refuses unknown scenarios and missing outputs with a usage message', async () => {
    const noOutput = await simulate(['--days', '1']).catch((e) => e);
    expect(noOutput.code).toBe(1);
    expect(noOutput.stderr).toMatch(/nothing to write/);
    const badScenario = await simulate(['--out', join(dir, 'x.ndjson'), '--fraud', 'phishing=1']).catch((e) => e);
    expect(badScenario.code).toBe(1);
    expect(badScenario.stderr).toMatch(/unknown scenario "phishing"/);
  });

  it('produces to the topics named in the environment with --kafka --fast', async () => {
    const { kafkaBrokers } = stackAddresses();
    const env = { KAFKA_BROKERS: kafkaBrokers.join(','), TRANSACTIONS_TOPIC: uniqueName('cli-transactions'), LABELS_TOPIC: uniqueName('cli-labels') };
    const { stdout } = await simulate(['--kafka', '--fast', '--seed', '8', '--days', '2', '--customers', '100', '--false-report-rate', '0.05'], env);
    const transactions = countIn(stdout, 'transactions');
    const labels = countIn(stdout, 'labels');
    expect(labels).toBeGreaterThan(0);
    const admin = testKafka(kafkaBrokers).admin();
    await admin.connect();
    try {
      const count = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      expect(await count(env.TRANSACTIONS_TOPIC)).toBe(transactions);
      expect(await count(env.LABELS_TOPIC)).toBe(labels);
    } finally {
      await admin.deleteTopics({ topics: [env.TRANSACTIONS_TOPIC, env.LABELS_TOPIC] });
      await admin.disconnect();
    }
  });
});
