/**
 * Training and evaluation data by replay: a time-ordered stream goes through the service's own state code (the
 * in-memory store), and each transaction's feature vector is recorded at the moment it is scored, exactly as the
 * live service would compute it. Labels reach the state only after their reporting time and never before their own
 * transaction, so no feature sees the future or its own label.
 */
import type { CardLabel, CardTransaction } from '../contract';
import { NonRetriableError } from '../errors';
import { DatasetInputError, type SourceRecord } from './sources';

/** What the state code returns per transaction (the in-memory store's `applyBatch`). */
export interface StateResult {
  features: Float64Array;
  duplicate: boolean;
  tooOld: boolean;
}

/** The part of the state store a replay drives. */
export interface ReplayStore {
  applyBatch(transactions: CardTransaction[]): StateResult[] | Promise<StateResult[]>;
  recordLabels(labels: CardLabel[]): unknown;
}

export interface ReplayRow {
  transaction: CardTransaction;
  /** The vector the service scored this transaction with (a copy the caller may keep). */
  features: Float64Array;
  duplicate: boolean;
  tooOld: boolean;
  /**
   * Ground truth for evaluation: this transaction's fraud label, whenever it was reported. Never given to the
   * state before its reporting time; a trainer that must not see late labels compares `reportedAtMs` itself.
   */
  fraudLabel?: CardLabel;
}

export interface ReplayOptions {
  store: ReplayStore;
  /** Labels known up front (an NDJSON labels file), in any order. Inline labels of the records are added as read. */
  labels?: readonly CardLabel[];
  /** Transactions per `applyBatch` call, as the service's chunk size. */
  batchSize?: number;
}

/** A binary min-heap of labels by reporting time. */
class LabelQueue {
  private readonly items: CardLabel[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): CardLabel | undefined {
    return this.items[0];
  }

  push(label: CardLabel): void {
    const items = this.items;
    items.push(label);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent].reportedAtMs <= items[i].reportedAtMs) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }

  pop(): CardLabel | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && items[left].reportedAtMs < items[smallest].reportedAtMs) smallest = left;
        if (right < items.length && items[right].reportedAtMs < items[smallest].reportedAtMs) smallest = right;
        if (smallest === i) break;
        [items[smallest], items[i]] = [items[i], items[smallest]];
        i = smallest;
      }
    }
    return top;
  }
}

/**
 * Replays `records` (which must be in event-time order) through `store`, yielding the scored rows batch by batch.
 * Before a transaction at time t is applied, every label reported strictly before t has been recorded, unless its
 * own transaction has not been applied yet (bad data: a label dated before its transaction), in which case it waits
 * for that transaction. A label whose transaction never appears is never recorded.
 */
export async function* replay(records: AsyncIterable<SourceRecord>, options: ReplayOptions): AsyncGenerator<ReplayRow[]> {
  const batchSize = options.batchSize ?? 500;
  const queue = new LabelQueue();
  const fraudByTransaction = new Map<string, CardLabel>();
  const labelled = new Set<string>();
  const applied = new Set<string>();
  const waitingForTransaction = new Map<string, CardLabel[]>();

  const addLabel = (label: CardLabel) => {
    queue.push(label);
    labelled.add(label.transactionId);
    if (label.label !== 'fraud') return;
    const known = fraudByTransaction.get(label.transactionId);
    if (known === undefined || label.reportedAtMs < known.reportedAtMs) fraudByTransaction.set(label.transactionId, label);
  };
  for (const label of options.labels ?? []) addLabel(label);

  let buffer: CardTransaction[] = [];
  async function apply(): Promise<ReplayRow[]> {
    const transactions = buffer;
    buffer = [];
    const results = await options.store.applyBatch(transactions);
    if (results.length !== transactions.length) {
      throw new NonRetriableError(`the state store returned ${results.length} results for ${transactions.length} transactions`);
    }
    const ready: CardLabel[] = [];
    const rows = transactions.map((transaction, i): ReplayRow => {
      const id = transaction.transactionId;
      if (labelled.has(id)) {
        applied.add(id);
        const waiting = waitingForTransaction.get(id);
        if (waiting) {
          ready.push(...waiting);
          waitingForTransaction.delete(id);
        }
      }
      const row: ReplayRow = { transaction, features: results[i].features.slice(), duplicate: results[i].duplicate, tooOld: results[i].tooOld };
      const fraudLabel = fraudByTransaction.get(id);
      if (fraudLabel !== undefined) row.fraudLabel = fraudLabel;
      return row;
    });
    if (ready.length > 0) await options.store.recordLabels(ready);
    return rows;
  }

  let previous: CardTransaction | undefined;
  for await (const record of records) {
    const transaction = record.transaction;
    const time = transaction.eventTimeMs;
    if (previous !== undefined && time < previous.eventTimeMs) {
      throw new DatasetInputError(
        `transaction ${transaction.transactionId} (${transaction.timestamp}) comes after ${previous.transactionId} (${previous.timestamp}): the input must be in event-time order; sort it first`,
      );
    }
    previous = transaction;
    const next = queue.peek();
    if (next !== undefined && next.reportedAtMs < time) {
      if (buffer.length > 0) yield await apply();
      const due: CardLabel[] = [];
      while (queue.size > 0 && queue.peek()!.reportedAtMs < time) {
        const label = queue.pop()!;
        if (applied.has(label.transactionId)) due.push(label);
        else {
          const waiting = waitingForTransaction.get(label.transactionId) ?? [];
          waiting.push(label);
          waitingForTransaction.set(label.transactionId, waiting);
        }
      }
      if (due.length > 0) await options.store.recordLabels(due);
    }
    if (record.label !== undefined) addLabel(record.label);
    buffer.push(transaction);
    // A label already due that waited for this transaction is recorded right after it, before the next one.
    if (buffer.length >= batchSize || waitingForTransaction.has(transaction.transactionId)) yield await apply();
  }
  if (buffer.length > 0) yield await apply();
}
