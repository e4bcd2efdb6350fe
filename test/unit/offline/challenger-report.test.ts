/** The champion against the challenger from a scores dump and labels: like for like, once per transaction. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CardLabel, DecisionMessage } from '../../../src/contract';
import { compareChallengerFile } from '../../../src/offline/challenger-report';
import { SourceReport } from '../../../src/offline/sources';

const record = (id: string, modelScore: number, challengerScore?: number, extra: Partial<DecisionMessage> = {}): DecisionMessage => ({
  transactionId: id,
  cardToken: 'b'.repeat(64),
  timestamp: '2026-11-30T06:00:00Z',
  score: modelScore,
  action: 'allow',
  reasons: [],
  rulesVersion: 'r1',
  modelScore,
  modelVersion: 'v1',
  ...(challengerScore === undefined ? {} : { challengerScore, challengerVersion: 'v2' }),
  ...extra,
});
const fraud = (id: string): CardLabel => ({ transactionId: id, cardToken: 'bank-card', label: 'fraud', reportedAtMs: 0 });

describe('compareChallengerFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'card-shield-challenger-report-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('ranks both model scores against the fraud labels, leaving out what lacks a challenger score, redeliveries and garbage', async () => {
    const file = join(dir, 'scores.ndjson');
    const lines = [
      record('fraud-1', 0.9, 0.1),
      record('t2', 0.2, 0.5),
      record('t3', 0.3, 0.3),
      record('t4', 0.1, 0.2),
      record('fraud-1', 0.9, 0.9), // a redelivery: the first record counts
      record('before-the-challenger', 0.95),
    ].map((r) => JSON.stringify(r));
    writeFileSync(file, [...lines, 'garbage'].join('\n'));
    const report = new SourceReport();
    const result = await compareChallengerFile(file, [fraud('fraud-1'), { ...fraud('t2'), label: 'genuine' }], report);
    expect(result).toMatchObject({ rows: 4, frauds: 1, withoutBothScores: 1, duplicates: 1 });
    expect(report.skipped).toBe(1);
    // The champion puts the fraud first (AUC 1, AP 1); the challenger puts it last (AUC 0, AP 1/4).
    expect(result.champion).toEqual({ versions: { v1: 4 }, auc: 1, averagePrecision: 1 });
    expect(result.challenger).toEqual({ versions: { v2: 4 }, auc: 0, averagePrecision: 0.25 });
  });
});
