/**
 * Dead-letter records: the original key and bytes, the original headers, and headers saying why and where from.
 * A dead-lettered message holds whatever the producer sent (possibly a PAN), so the dead-letter topic needs the
 * same access control and retention as the transactions topic. Sensitive authentication data (CVV, track, PIN
 * block) must never be kept after authorisation (PCI DSS 3.3.1): when the bytes parse as a JSON object carrying
 * such fields, they are removed and `dlq-redacted: true` says so. Error text is scrubbed of PANs.
 */
import { scrubPans } from '../contract/card';
import type { OutgoingMessage } from '../kafka/client';
import type { ConsumedMessage } from './batch-consumer';

const SENSITIVE_AUTHENTICATION_FIELDS = ['cvv', 'cvv2', 'cvc', 'cvc2', 'cid', 'track1', 'track2', 'trackData', 'pinBlock', 'pin'];
const MAX_ERROR_TEXT = 1000;

export interface DeadLetterReason {
  /** Closed set (metric label): too_large, invalid_utf8, invalid_json, not_an_object, schema. */
  code: string;
  /** Human text: every validation error with its path. */
  detail: string;
}

export function deadLetterRecord(message: ConsumedMessage, reason: DeadLetterReason, failedAtMs: number): OutgoingMessage {
  const { value, redacted, dropped } = withoutSensitiveAuthenticationData(message.value);
  const headers: Record<string, string | Buffer> = {};
  for (const [name, header] of Object.entries(message.headers)) if (header !== undefined) headers[name] = header;
  Object.assign(headers, {
    'dlq-reason': reason.code,
    'dlq-error': scrubPans(reason.detail).slice(0, MAX_ERROR_TEXT),
    'dlq-source-topic': message.topic,
    'dlq-source-partition': String(message.partition),
    'dlq-source-offset': message.offset,
    'dlq-failed-at': new Date(failedAtMs).toISOString(),
  });
  if (redacted) headers['dlq-redacted'] = 'true';
  if (dropped) headers['dlq-value-dropped'] = dropped;
  return { key: message.key, value: value ?? Buffer.alloc(0), headers };
}

function withoutSensitiveAuthenticationData(value: Buffer | null): { value: Buffer | null; redacted: boolean; dropped?: string } {
  if (value === null || value.length === 0) return { value, redacted: false };
  const text = value.toString('utf8');
  if (!SENSITIVE_AUTHENTICATION_FIELDS.some((field) => text.includes(`"${field}"`))) return { value, redacted: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { value, redacted: false };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { value, redacted: false };
  const copy = { ...(parsed as Record<string, unknown>) };
  for (const field of SENSITIVE_AUTHENTICATION_FIELDS) delete copy[field];
  try {
    return { value: Buffer.from(JSON.stringify(copy)), redacted: true };
  } catch (error) {
    // JSON.stringify recurses and overflows the stack on nesting that JSON.parse still reads (a 40 kB message of
    // brackets is enough). Thrown on, it would crash the consumer on the same message after every restart; the
    // original bytes hold the sensitive data, so none of them may be kept either: the record says why it is empty.
    if (!(error instanceof RangeError)) throw error;
    return { value: Buffer.alloc(0), redacted: true, dropped: 'too deeply nested to redact' };
  }
}
