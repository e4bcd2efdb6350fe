/**
 * The embedded mode's ingestion (POST /v1/transactions and /v1/labels, the demo): a body of messages decoded one by
 * one, the valid ones scored in chunks through the same pipeline as the Kafka consumer, the invalid ones answered
 * with their reasons (there is no dead-letter topic to put them in).
 */
import type { CardLabel } from '../contract/transaction';
import type { CompromiseDetector } from '../compromise/detector';
import type { FeatureStore } from '../state/store';
import { formatErrors, splitBody, type Decoded, type MessageDecoders } from './ingest';
import { scoreChunk, type ScoringDependencies } from './pipeline';

export interface IngestResult {
  status: number;
  body: unknown;
}

export interface EmbeddedIngestion {
  scoreMessages(body: string): Promise<IngestResult>;
  recordLabelMessages(body: string): Promise<IngestResult>;
}

export interface EmbeddedDependencies {
  decoders: MessageDecoders;
  scoring: ScoringDependencies;
  store: Pick<FeatureStore, 'recordLabels'>;
  chunkSize: number;
  /** Compromise detection, when it runs: labels go through it after the state, as the labels topic's do. */
  detector?(): Pick<CompromiseDetector, 'onLabels'> | undefined;
  /** The desk's copy of the labels, when it runs embedded. */
  deskLabels?(labels: readonly CardLabel[]): Promise<void>;
}

const NOT_A_BODY: IngestResult = { status: 400, body: { error: 'body must be a JSON array of messages or NDJSON (one per line)' } };

export function createEmbeddedIngestion(deps: EmbeddedDependencies): EmbeddedIngestion {
  return {
    async scoreMessages(body) {
      const decoded = decodeBody(body, (line) => deps.decoders.transaction(line));
      if (decoded === undefined) return NOT_A_BODY;
      const { accepted, rejected } = decoded;
      const decisions = [];
      for (let i = 0; i < accepted.length; i += deps.chunkSize) {
        for (const s of await scoreChunk(deps.scoring, accepted.slice(i, i + deps.chunkSize))) {
          decisions.push({
            transactionId: s.txn.transactionId,
            cardToken: s.txn.cardToken,
            action: s.decision.action,
            score: s.decision.score,
            reasons: s.decision.reasons,
            ...(s.modelScore !== undefined ? { modelScore: s.modelScore } : {}),
            ...(s.challenger ? { challengerScore: s.challenger.score, challengerVersion: s.challenger.version } : {}),
            ...(s.alert ? { alertId: s.alert.alertId, suppressed: s.suppressed } : {}),
            duplicate: s.duplicate,
          });
        }
      }
      return { status: 200, body: { decisions, rejected } };
    },

    async recordLabelMessages(body) {
      const decoded = decodeBody(body, (line) => deps.decoders.label(line));
      if (decoded === undefined) return NOT_A_BODY;
      const outcomes = await deps.store.recordLabels(decoded.accepted);
      await deps.deskLabels?.(decoded.accepted);
      const detected = await deps.detector?.()?.onLabels(decoded.accepted, outcomes);
      const findings = detected
        ? { compromise: { points: detected.findings.map((f) => ({ point: f.point, shape: f.shape, window: f.window, evidence: f.evidence, reason: f.reasons[0]?.message })), cardsWarned: detected.warnings } }
        : {};
      return { status: 200, body: { labels: outcomes, rejected: decoded.rejected, ...findings } };
    },
  };
}

function decodeBody<T>(body: string, decode: (line: string) => Decoded<T>) {
  const lines = splitBody(body);
  if (lines === undefined) return undefined;
  const rejected: Array<{ index: number; reason: string; errors: string }> = [];
  const accepted: T[] = [];
  lines.forEach((line, index) => {
    const decoded = decode(line);
    if (decoded.ok) accepted.push(decoded.value);
    else rejected.push({ index, reason: decoded.reason, errors: formatErrors(decoded.errors) });
  });
  return { accepted, rejected };
}
