/**
 * Decisions → v1 alert messages. Pure: the same scored transaction always yields the same alert, and the alertId is
 * a hash of (type, card, transaction), so a redelivered transaction produces an alert that downstream systems can
 * recognise as the one they already have.
 */
import { createHash } from 'node:crypto';
import type { AlertMessage, Reason } from '../contract/schemas';
import type { CardTransaction } from '../contract/transaction';

export type AlertType = AlertMessage['type'];

export function alertIdFor(type: AlertType, cardToken: string, subjectId: string): string {
  const digest = createHash('sha256').update(`${type}\u0000${cardToken}\u0000${subjectId}`).digest('hex');
  // UUID layout (version nibble 5, RFC 4122 variant) so case-management systems with UUID columns accept it.
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-5${digest.slice(13, 16)}-${((parseInt(digest[16], 16) & 0x3) | 0x8).toString(16)}${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
}

export interface TransactionAlertInput {
  txn: CardTransaction;
  score: number;
  action: 'review' | 'block';
  reasons: Reason[];
  rulesVersion: string;
  model?: { version: string; score: number };
  createdAtMs: number;
}

export function transactionAlert(input: TransactionAlertInput): AlertMessage {
  const { txn } = input;
  const alert: AlertMessage = {
    alertId: alertIdFor('transaction', txn.cardToken, txn.transactionId),
    type: 'transaction',
    transactionId: txn.transactionId,
    timestamp: txn.timestamp,
    createdAt: new Date(input.createdAtMs).toISOString(),
    cardToken: txn.cardToken,
    score: roundScore(input.score),
    action: input.action,
    reasons: input.reasons,
    rulesVersion: input.rulesVersion,
  };
  if (txn.maskedPan !== undefined) alert.maskedPan = txn.maskedPan;
  if (txn.accountId !== undefined) alert.accountId = txn.accountId;
  if (txn.merchantId !== undefined) alert.merchantId = txn.merchantId;
  if (txn.terminalId !== undefined) alert.terminalId = txn.terminalId;
  if (input.model !== undefined) alert.model = { version: input.model.version, score: roundScore(input.model.score) };
  return alert;
}

function roundScore(score: number): number {
  return Math.round(Math.min(1, Math.max(0, score)) * 10000) / 10000;
}
