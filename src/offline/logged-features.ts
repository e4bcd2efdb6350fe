/**
 * Training rows from the features as served: a dump of the scores topic written with SCORES_INCLUDE_FEATURES=true
 * (one decision v1 record a line, as a consumer or the desk would write it) carries each transaction's feature
 * vector exactly as the live service scored it. Training on those rows needs no replay and cannot differ from
 * serving (no training/serving skew), whatever state, labels or code version production ran with.
 *
 * Labels join by transactionId (the scores carry the service's card token, labels the bank's card: the card is
 * never compared). A line that is not a valid decision record, or lacks a feature the model needs, is skipped and
 * counted by reason; a transaction seen again (Kafka delivers at least once) counts once, as first logged.
 */
import { basename } from 'node:path';
import { decodeDecision, formatErrors, type CardLabel, type CardTransaction, type DecisionMessage } from '../contract';
import type { ReplayRow } from './dataset';
import { DatasetInputError, lines, SourceReport } from './sources';

/** A source report that also counts the skipped lines by reason, so a bad dump says what is wrong with it at once. */
export class LoggedFeaturesReport extends SourceReport {
  readonly byReason = new Map<string, number>();

  skipFor(reason: string, where: string, problem: string): void {
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    this.skip(where, problem);
  }
}

export interface LoggedFeaturesOptions {
  /** Catalog order of the vectors the rows carry (FEATURE_NAMES). */
  catalog: readonly string[];
  /** Features a line must carry to be used (the model's inputs). */
  required: readonly string[];
  labels: readonly CardLabel[];
  report: LoggedFeaturesReport;
  batchSize?: number;
}

/** The rows of a features-logged scores file, in batches, with each transaction's earliest fraud label. */
export async function* readLoggedFeatureRows(path: string, options: LoggedFeaturesOptions): AsyncGenerator<ReplayRow[]> {
  const { catalog, report } = options;
  const unknown = options.required.filter((name) => !catalog.includes(name));
  if (unknown.length > 0) throw new DatasetInputError(`features not in the catalog: ${unknown.join(', ')}`);
  const batchSize = options.batchSize ?? 500;
  const fraudByTransaction = new Map<string, CardLabel>();
  for (const label of options.labels) {
    if (label.label !== 'fraud') continue;
    const known = fraudByTransaction.get(label.transactionId);
    if (known === undefined || label.reportedAtMs < known.reportedAtMs) fraudByTransaction.set(label.transactionId, label);
  }
  const seen = new Set<string>();
  const file = basename(path);
  let batch: ReplayRow[] = [];
  for await (const [number, line] of lines(path)) {
    const where = `${file}:${number}`;
    const decoded = decodeDecision(line);
    if (!decoded.ok) {
      report.skipFor('not a decision record', where, formatErrors(decoded.errors));
      continue;
    }
    const record = decoded.value;
    if (record.features === undefined) {
      report.skipFor('no features', where, 'no features: the service logged it without SCORES_INCLUDE_FEATURES=true');
      continue;
    }
    const missing = options.required.filter((name) => record.features![name] === undefined);
    if (missing.length > 0) {
      report.skipFor('missing features', where, `missing ${missing.length} feature(s) the model needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
      continue;
    }
    report.records++;
    const duplicate = seen.has(record.transactionId);
    seen.add(record.transactionId);
    const row: ReplayRow = { transaction: transactionOf(record), features: vectorOf(record.features, catalog), duplicate, tooOld: false };
    const fraudLabel = fraudByTransaction.get(record.transactionId);
    if (fraudLabel !== undefined) row.fraudLabel = fraudLabel;
    batch.push(row);
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** In catalog order; a feature the line does not carry (and the model does not need) is NaN, never read. */
function vectorOf(features: Record<string, number>, catalog: readonly string[]): Float64Array {
  const vector = new Float64Array(catalog.length);
  catalog.forEach((name, j) => (vector[j] = features[name] ?? Number.NaN));
  return vector;
}

/** What the training set reads of a transaction (its time and card), from the record's context. */
function transactionOf(record: DecisionMessage): CardTransaction {
  return {
    transactionId: record.transactionId,
    eventTimeMs: Date.parse(record.timestamp),
    timestamp: record.timestamp,
    cardToken: record.cardToken,
    amount: record.amount ?? 0,
    currency: record.currency ?? '',
    approved: true,
    merchantId: record.merchantId,
    terminalId: record.terminalId,
    mcc: record.mcc,
    country: record.country,
  };
}
