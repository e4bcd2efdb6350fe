/**
 * Message handling shared by the Kafka consumers and the embedded HTTP ingestion: decode → tokenize → score, with
 * invalid input set aside with its reasons (dead-letter topic, or the HTTP response).
 */
import { cardTokenizer, formatErrors, decodeLabel, createDecoder } from '../contract';
import { TransactionV1, type TransactionMessage } from '../contract/schemas';
import { toCardLabel, toCardTransaction, type CardLabel, type CardTransaction } from '../contract/transaction';
import type { DecodeFailure, ValidationError } from '../contract/validate';

export interface Rejection {
  reason: DecodeFailure;
  errors: ValidationError[];
}

export type Decoded<T> = { ok: true; value: T } | ({ ok: false } & Rejection);

export interface MessageDecoders {
  transaction(bytes: Buffer | string | null): Decoded<CardTransaction>;
  label(bytes: Buffer | string | null): Decoded<CardLabel>;
}

/**
 * How far after the moment a transaction is decoded its event time may lie. An authorisation cannot come from the
 * future beyond clock skew, and one that claims to (year 9999 is a valid date-time) would move its card's,
 * account's, terminal's and merchant's windows to that time, so that every real transaction after it counted as too
 * old: one message would blind the features of four entities. A day is far beyond any clock skew and keeps
 * timezone mistakes (±14 h) from dead-lettering real traffic. The past is not bounded: backtests replay old data.
 */
export const MAX_FUTURE_EVENT_MS = 24 * 3600_000;

export function createMessageDecoders(options: { panHmacKey: Buffer; defaultCurrency: string; maxMessageBytes: number; now?: () => number }): MessageDecoders {
  const tokenize = cardTokenizer(options.panHmacKey);
  const decodeTransaction = createDecoder<TransactionMessage>(TransactionV1, options.maxMessageBytes);
  const now = options.now ?? Date.now;
  return {
    transaction(bytes) {
      const result = decodeTransaction(bytes);
      if (!result.ok) return { ok: false, reason: result.reason, errors: result.errors };
      const value = toCardTransaction(result.value, tokenize, options.defaultCurrency);
      if (value.eventTimeMs > now() + MAX_FUTURE_EVENT_MS) {
        return { ok: false, reason: 'schema', errors: [{ path: '/timestamp', message: 'is more than 24 hours after the time it was received' }] };
      }
      return { ok: true, value };
    },
    label(bytes) {
      const result = decodeLabel(bytes);
      if (!result.ok) return { ok: false, reason: result.reason, errors: result.errors };
      return { ok: true, value: toCardLabel(result.value, tokenize) };
    },
  };
}

export { formatErrors };

/**
 * Splits an HTTP body into messages: a JSON array of transactions, or NDJSON (one per line). Returns undefined when
 * the body is neither.
 */
export function splitBody(body: string): Array<string> | undefined {
  const trimmed = body.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return undefined;
    }
    return Array.isArray(parsed) ? parsed.map((item) => JSON.stringify(item)) : undefined;
  }
  return trimmed.split('\n').map((line) => line.trim()).filter((line) => line !== '');
}
