/**
 * The state store: per-card (and per-account, terminal, merchant, device, IP) behavioural memory. Two
 * implementations share every line of feature arithmetic: Redis (`redis-store.ts`, the service) and memory
 * (`memory-store.ts`, the embedded demo, training and backtests).
 */
import type { CardLabel, CardTransaction } from '../contract/transaction';

export type { StateOptions } from './options';

export interface AppliedTransaction {
  /** In catalog order (`FEATURE_INDEX[name]`), this transaction included. */
  features: Float64Array;
  /** The card had counted this transaction id before: nothing changed. */
  duplicate: boolean;
  /** Older than the card's newest transaction minus the allowed lateness: counted as nothing. */
  tooOld: boolean;
}

export interface LabelOutcome {
  transactionId: string;
  outcome: 'applied' | 'duplicate' | 'unknown_transaction' | 'changed';
}

/** One of the card's recent transactions, as the references labels resolve against keep it (minute precision). */
export interface CardHistoryEntry {
  /** transactionFingerprint(transactionId), hex. */
  fingerprint: string;
  atMs: number;
  label?: 'fraud' | 'genuine';
  terminalId?: string;
  merchantId?: string;
}

export interface FeatureStore {
  /** Idempotent by transactionId; one pipelined Redis round trip per call; results in input order; per-card order preserved. */
  applyBatch(txns: readonly CardTransaction[]): Promise<AppliedTransaction[]>;
  /** Idempotent; labels move the fraud counts of the transaction's terminal and merchant (two round trips). */
  recordLabels(labels: readonly CardLabel[]): Promise<LabelOutcome[]>;
  /**
   * The card's transactions within STATE_HORIZON_MS of its newest, with the labels recorded on them (compromise
   * detection reads a victim's places from here; nothing extra is stored for it). Order not specified.
   */
  cardHistory(cardToken: string): Promise<CardHistoryEntry[]>;
  /** Readiness: resolves when the store can serve, throws StateUnavailableError when it cannot. */
  ping(): Promise<void>;
  /** Releases what the store holds. A Redis store leaves the client to its owner (who created it with connectRedis). */
  close(): Promise<void>;
}
