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

export function createMessageDecoders(options: { panHmacKey: Buffer; defaultCurrency: string; maxMessageBytes: number }): MessageDecoders {
  const tokenize = cardTokenizer(options.panHmacKey);
  const decodeTransaction = createDecoder<TransactionMessage>(TransactionV1, options.maxMessageBytes);
  return {
    transaction(bytes) {
      const result = decodeTransaction(bytes);
      if (!result.ok) return { ok: false, reason: result.reason, errors: result.errors };
      return { ok: true, value: toCardTransaction(result.value, tokenize, options.defaultCurrency) };
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
