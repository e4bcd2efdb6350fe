import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSimulation, FRAUD_SCENARIOS, type SimOptionsInput } from '../../../src/sim';
import { drive } from '../../../src/sim/output/drive';
import { NdjsonFileWriter } from '../../../src/sim/output/ndjson-file';
import { createProgressReporter, progressLine } from '../../../src/sim/output/progress';
import { formatSummary } from '../../../src/sim/summary';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'sim-output-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS: SimOptionsInput = { seed: 5, days: 10, customers: 500, fraudRates: { 'point-of-compromise': 4, 'fraudulent-merchant': 2 } };

async function writeRun(name: string) {
  const paths = { transactions: join(dir, `${name}.ndjson`), labels: join(dir, `${name}.labels.ndjson`), truth: join(dir, `${name}.truth.ndjson`) };
  const simulation = createSimulation(OPTIONS);
  const result = await drive(simulation, {
    transactionsFile: new NdjsonFileWriter(paths.transactions),
    labelsFile: new NdjsonFileWriter(paths.labels),
    truthFile: new NdjsonFileWriter(paths.truth),
  });
  return { paths, simulation, result };
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('drive to NDJSON files', () => {
  it('writes byte-identical files for the same seed and options', async () => {
    const a = await writeRun('a');
    const b = await writeRun('b');
    for (const key of ['transactions', 'labels', 'truth'] as const) expect(sha(a.paths[key])).toBe(sha(b.paths[key]));
    expect(lines(a.paths.transactions)).toHaveLength(a.result.transactions);
    expect(lines(a.paths.labels)).toHaveLength(a.result.labels);
  });

  it('writes ground truth: every point, every fraudulent transaction with its scenario, every exposure', async () => {
    const { paths, simulation } = await writeRun('truth');
    const truth = lines(paths.truth).map((l) => JSON.parse(l) as Record<string, string>);
    const points = truth.filter((t) => t.type === 'point');
    expect(points.map((p) => p.pointId)).toEqual(simulation.compromisedPoints.map((p) => p.pointId));
    const fraud = truth.filter((t) => t.type === 'fraud');
    const totalFraud = FRAUD_SCENARIOS.reduce((sum, s) => sum + simulation.stats.fraudTransactions[s], 0);
    expect(fraud).toHaveLength(totalFraud);
    const transactionIds = new Set(lines(paths.transactions).map((l) => (JSON.parse(l) as { transactionId: string }).transactionId));
    for (const f of fraud) {
      expect(transactionIds.has(f.transactionId)).toBe(true);
      expect(FRAUD_SCENARIOS).toContain(f.scenario);
    }
    expect(truth.filter((t) => t.type === 'exposure')).toHaveLength(simulation.stats.cardsExposed);
  });
});

describe('NdjsonFileWriter', () => {
  it('keeps every line whole across chunk boundaries, including lines longer than a chunk', async () => {
    const path = join(dir, 'chunks.ndjson');
    const writer = new NdjsonFileWriter(path);
    const expected: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const line = i === 1234 ? 'x'.repeat(3 << 20) : `{"n":${i},"text":"${'é'.repeat(i % 50)}"}`;
      expected.push(line);
      const wait = writer.writeLine(line);
      if (wait) await wait;
    }
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe(`${expected.join('\n')}\n`);
  });

  it('reports a file it cannot write, naming it', async () => {
    const writer = new NdjsonFileWriter(join(dir, 'no-such-dir', 'x.ndjson'));
    writer.writeLine('{}');
    await expect(writer.close()).rejects.toThrow(/no-such-dir/);
  });
});

describe('progress', () => {
  const scope = { startMs: 0, endMs: 10 * 86_400_000, maxTransactions: Number.POSITIVE_INFINITY };
  const halfway = { transactions: 123_456, labels: 78, simTimeMs: 5 * 86_400_000, elapsedMs: 2000 };

  it('draws a bar on a terminal and plain text elsewhere', () => {
    expect(progressLine(halfway, scope, true)).toBe('[############............] 50% · day 6 · 123,456 transactions · 78 labels · 61,767 msg/s');
    expect(progressLine(halfway, scope, false)).toBe('50% · day 6 · 123,456 transactions · 78 labels · 61,767 msg/s');
  });

  it('measures progress by transactions when the run is capped by count', () => {
    expect(progressLine({ ...halfway, simTimeMs: 86_400_000 }, { ...scope, maxTransactions: 246_912 }, false)).toMatch(/^50% /);
  });

  it('redraws in place on a terminal, appends plain lines otherwise, and throttles both', () => {
    let now = 0;
    const tty: string[] = [];
    const pipe: string[] = [];
    const onTty = createProgressReporter({ write: (t: string) => tty.push(t), isTTY: true }, scope, () => now);
    const onPipe = createProgressReporter({ write: (t: string) => pipe.push(t) }, scope, () => now);
    for (now = 0; now <= 10_000; now += 50) {
      onTty.update(halfway);
      onPipe.update(halfway);
    }
    onTty.finish(halfway);
    onPipe.finish(halfway);
    expect(tty.length).toBe(10_000 / 200 + 1);
    expect(tty.every((t) => t.startsWith('\r'))).toBe(true);
    expect(tty[tty.length - 1].endsWith('\n')).toBe(true);
    expect(pipe.length).toBe(10_000 / 5000 + 1);
    expect(pipe.every((t) => !t.includes('\r') && t.endsWith('\n') && !t.includes('['))).toBe(true);
  });
});

describe('formatSummary', () => {
  it('lists transactions, fraud per scenario, cards and points of compromise', () => {
    const simulation = createSimulation(OPTIONS);
    for (const _ of simulation);
    const summary = formatSummary(simulation);
    expect(summary).toContain(`transactions        ${simulation.stats.transactions.toLocaleString('en-US')}`);
    for (const scenario of FRAUD_SCENARIOS) expect(summary).toMatch(new RegExp(`^  ${scenario} +${simulation.stats.fraudTransactions[scenario].toLocaleString('en-US')} `, 'm'));
    expect(summary).toContain(`cards               ${simulation.population.cardCountTotal.toLocaleString('en-US')}`);
    expect(summary).toMatch(/^points of compromise \d+/m);
  });
});
