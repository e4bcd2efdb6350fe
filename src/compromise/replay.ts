/**
 * Compromise detection over a file, offline (`npm run compromise`, `npm run bench:compromise`, the demo's report):
 * the transactions and labels of a file replayed in event-time order (the replay train and evaluate use) through the
 * service's own detector on the in-memory store. Every alert it would have published is collected with the event time
 * at which it was raised.
 */
import type { AlertMessage } from '../contract/schemas';
import type { CardLabel, CardTransaction } from '../contract/transaction';
import type { SourceRecord } from '../offline/sources';
import { replay } from '../offline/dataset';
import { Telemetry } from '../telemetry/events';
import { CardHistoryLog } from './card-history';
import type { Finding } from './alerts';
import { CompromiseDetector, type DetectorSettings } from './detector';
import { createMemoryCompromiseStore } from './memory-store';

export interface ReplayReport {
  transactions: number;
  labels: number;
  ignoredLabels: number;
  /** Every compromised-point and card-at-risk alert, in the order published. */
  alerts: AlertMessage[];
  /** Wall time of the replay, seconds. */
  seconds: number;
  /** Detection work: points evaluated and the time spent evaluating them (label path only). */
  evaluated: number;
  evaluationSeconds: number;
}

export interface CompromiseReplayOptions {
  records: AsyncIterable<SourceRecord>;
  labels: readonly CardLabel[];
  settings: DetectorSettings;
  /** Sees each transaction as it is replayed (truth bookkeeping). */
  onTransaction?(txn: CardTransaction): void;
  /** Sees every evaluated point's best window, flagged or not. */
  onCandidate?(finding: Finding): void;
}

export async function replayCompromise(options: CompromiseReplayOptions): Promise<ReplayReport> {
  const started = performance.now();
  const telemetry = new Telemetry();
  const history = new CardHistoryLog();
  const store = createMemoryCompromiseStore({ retentionMs: options.settings.retentionMs });
  const alerts: AlertMessage[] = [];
  const detector = new CompromiseDetector({
    store,
    history: async (token) => history.history(token),
    alerts: { publish: async (published) => void alerts.push(...published) },
    telemetry,
    now: Date.now,
    settings: options.settings,
    onCandidate: options.onCandidate,
  });
  const report: ReplayReport = { transactions: 0, labels: 0, ignoredLabels: 0, alerts, seconds: 0, evaluated: 0, evaluationSeconds: 0 };
  telemetry.on('compromise.evaluated', ({ points, seconds }) => {
    report.evaluated += points;
    report.evaluationSeconds += seconds;
  });
  const empty = new Float64Array(0);
  const rows = replay(options.records, {
    labels: options.labels,
    batchSize: 2000,
    store: {
      async applyBatch(txns) {
        history.record(txns);
        await store.recordVisits(txns);
        for (const txn of txns) options.onTransaction?.(txn);
        report.transactions += txns.length;
        return txns.map(() => ({ features: empty, duplicate: false, tooOld: false }));
      },
      async recordLabels(labels) {
        report.labels += labels.length;
        const summary = await detector.onLabels(labels, history.recordLabels(labels));
        report.ignoredLabels += summary.ignored;
      },
    },
  });
  for await (const _ of rows) {
    // the rows carry no features here: the replay is driven for its side effects
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
