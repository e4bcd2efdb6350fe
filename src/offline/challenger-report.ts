/**
 * The champion against the challenger on live traffic: a dump of the scores topic (each decision record carries
 * `modelScore` and `challengerScore` of the same features) joined with the fraud labels by transactionId. Both are
 * model scores before the decision policy, so they compare like for like (AUC, average precision), on exactly the
 * transactions production saw. Records without both scores (no challenger loaded then) are left out and counted;
 * a transaction logged twice (a redelivery) counts once, as first logged.
 */
import { basename } from 'node:path';
import { decodeDecision, type CardLabel } from '../contract';
import { averagePrecision, rocAuc } from './metrics';
import { lines, SourceReport } from './sources';

export interface ModelFigures {
  /** Versions seen in the records, with how many records each scored (a swap mid-dump shows as two). */
  versions: Record<string, number>;
  auc: number;
  averagePrecision: number;
}

export interface ChallengerComparison {
  /** Records with both scores, one per transaction. */
  rows: number;
  /** Of those, transactions with a fraud label. */
  frauds: number;
  /** Records left out because they carry no challenger score (or no model score). */
  withoutBothScores: number;
  duplicates: number;
  champion: ModelFigures;
  challenger: ModelFigures;
}

export interface ComparedRow {
  modelScore: number;
  modelVersion: string;
  challengerScore: number;
  challengerVersion: string;
  fraud: boolean;
}

/** The figures of rows already joined with their labels (pure). */
export function compareScores(rows: readonly ComparedRow[], skipped: { withoutBothScores: number; duplicates: number }): ChallengerComparison {
  const truths = rows.map((r): number => (r.fraud ? 1 : 0));
  const figures = (score: (r: ComparedRow) => number, version: (r: ComparedRow) => string): ModelFigures => {
    const scores = rows.map(score);
    const versions: Record<string, number> = {};
    for (const r of rows) versions[version(r)] = (versions[version(r)] ?? 0) + 1;
    return { versions, auc: rocAuc(scores, truths), averagePrecision: averagePrecision(scores, truths) };
  };
  return {
    rows: rows.length,
    frauds: truths.reduce((a, b) => a + b, 0),
    ...skipped,
    champion: figures((r) => r.modelScore, (r) => r.modelVersion),
    challenger: figures((r) => r.challengerScore, (r) => r.challengerVersion),
  };
}

/** Reads a scores dump and compares the two models on the transactions labelled fraud (any label time). */
export async function compareChallengerFile(path: string, labels: readonly CardLabel[], report: SourceReport): Promise<ChallengerComparison> {
  const fraud = new Set(labels.filter((l) => l.label === 'fraud').map((l) => l.transactionId));
  const seen = new Set<string>();
  const rows: ComparedRow[] = [];
  const skipped = { withoutBothScores: 0, duplicates: 0 };
  const file = basename(path);
  for await (const [number, line] of lines(path)) {
    const decoded = decodeDecision(line);
    if (!decoded.ok) {
      report.skip(`${file}:${number}`, 'not a decision record');
      continue;
    }
    const r = decoded.value;
    report.records++;
    if (r.modelScore === undefined || r.challengerScore === undefined) {
      skipped.withoutBothScores++;
      continue;
    }
    if (seen.has(r.transactionId)) {
      skipped.duplicates++;
      continue;
    }
    seen.add(r.transactionId);
    rows.push({ modelScore: r.modelScore, modelVersion: r.modelVersion ?? '?', challengerScore: r.challengerScore, challengerVersion: r.challengerVersion ?? '?', fraud: fraud.has(r.transactionId) });
  }
  return compareScores(rows, skipped);
}
