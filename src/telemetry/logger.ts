/**
 * The service logger: pino, JSON lines. Card data never reaches a log line: known card fields are removed by
 * path, and every string (messages, error messages and stacks) is scrubbed of Luhn-valid digit runs.
 */
import pino, { type Logger } from 'pino';
import { scrubPans } from '../contract/card';

export type { Logger };

const REDACTED_PATHS = ['pan', '*.pan', '*.*.pan', 'cvv', '*.cvv', 'track2', '*.track2', 'panHmacKey', '*.panHmacKey', 'password', '*.password'];

function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubPans(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { type: value.name, message: scrubPans(value.message), stack: value.stack ? scrubPans(value.stack) : undefined };
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1);
  return out;
}

export function createLogger(options: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: options.name ?? 'card-shield',
      level: options.level,
      base: undefined,
      redact: { paths: REDACTED_PATHS, remove: true },
      serializers: { err: (err: unknown) => scrubValue(err) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrubValue(a)) as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}
