/**
 * Decoding and validation of wire messages. Never throws: every failure, from invalid UTF-8 to a wrong type deep
 * in the object, comes back as a list of `{ path, message }` so the consumer can dead-letter the message with its reason.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { DecisionV1, LabelV1, TransactionV1, type DecisionMessage, type LabelMessage, type TransactionMessage } from './schemas';
import { scrubPans } from './card';

export interface ValidationError {
  /** JSON pointer of the offending value ('' for the whole message). */
  path: string;
  message: string;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: DecodeFailure; errors: ValidationError[] };

/** Why a message was refused; also the `reason` label of the dead-letter metric (a closed set). */
export type DecodeFailure = 'too_large' | 'invalid_utf8' | 'invalid_json' | 'not_an_object' | 'schema';

/** Default largest message accepted; a v1 transaction is well under 2 KB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function createAjv(): Ajv {
  // allErrors: the dead-letter reason lists every problem at once, so a producer fixes them in one round.
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
  addFormats(ajv, ['date-time']);
  return ajv;
}

function describe(error: ErrorObject): ValidationError {
  const path = error.instancePath;
  switch (error.keyword) {
    case 'required':
      return { path: `${path}/${String(error.params.missingProperty)}`, message: 'is required' };
    case 'oneOf':
      return { path, message: 'must have exactly one of pan or cardId' };
    case 'enum':
      return { path, message: `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}` };
    case 'pattern':
      // Never echo the rejected value: it may be a malformed PAN.
      return { path, message: `does not match the expected format` };
    default:
      return { path, message: error.message ?? error.keyword };
  }
}

/** Builds a decoder for one message schema: bytes in, a typed value or every error out. */
export function createDecoder<T>(schema: object, maxBytes = DEFAULT_MAX_MESSAGE_BYTES) {
  let check: ValidateFunction | undefined; // compiled on first use: no work at import time
  return function decode(input: Buffer | string | null | undefined): DecodeResult<T> {
    check ??= createAjv().compile(schema);
    if (input == null) return { ok: false, reason: 'invalid_json', errors: [{ path: '', message: 'empty message' }] };
    const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
    if (size > maxBytes) {
      return { ok: false, reason: 'too_large', errors: [{ path: '', message: `message is ${size} bytes; the limit is ${maxBytes}` }] };
    }
    let text: string;
    if (typeof input === 'string') text = input;
    else {
      try {
        text = utf8.decode(input);
      } catch {
        return { ok: false, reason: 'invalid_utf8', errors: [{ path: '', message: 'message is not valid UTF-8' }] };
      }
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      // SyntaxError for garbage, RangeError for pathological nesting: both are the producer's fault, not ours.
      const detail = error instanceof Error ? scrubPans(error.message).slice(0, 200) : 'unparseable';
      return { ok: false, reason: 'invalid_json', errors: [{ path: '', message: `not JSON: ${detail}` }] };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, reason: 'not_an_object', errors: [{ path: '', message: 'message must be a JSON object' }] };
    }
    if (!check(value)) {
      const errors = (check.errors ?? []).map(describe);
      return { ok: false, reason: 'schema', errors: dedupe(errors) };
    }
    return { ok: true, value: value as T };
  };
}

function dedupe(errors: ValidationError[]): ValidationError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}|${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One line for logs and dead-letter headers: `/amount must be > 0; /pan does not match the expected format`. */
export function formatErrors(errors: ValidationError[]): string {
  return errors.map((e) => `${e.path || '(message)'} ${e.message}`).join('; ');
}

export const decodeTransaction = createDecoder<TransactionMessage>(TransactionV1);
export const decodeLabel = createDecoder<LabelMessage>(LabelV1);
export const decodeDecision = createDecoder<DecisionMessage>(DecisionV1);
