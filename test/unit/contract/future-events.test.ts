import { createMessageDecoders, MAX_FUTURE_EVENT_MS } from '../../../src/scoring/ingest';
import { transaction } from '../../support/traffic';

describe('event times from the future', () => {
  const now = Date.parse('2026-12-06T00:00:00Z');
  const decoders = createMessageDecoders({ panHmacKey: Buffer.alloc(32, 7), defaultCurrency: 'KZT', maxMessageBytes: 65536, now: () => now });
  const at = (timestamp: string) => decoders.transaction(JSON.stringify({ ...transaction(1, 'f', now), timestamp }));

  it('rejects a date-time the schema accepts but no authorisation can have (it would poison four entities’ windows)', () => {
    const result = at('9999-12-31T23:59:59Z');
    expect(result).toMatchObject({ ok: false, reason: 'schema', errors: [{ path: '/timestamp' }] });
  });

  it('accepts up to a day of clock skew and any past (backtests replay old data)', () => {
    expect(at(new Date(now + MAX_FUTURE_EVENT_MS).toISOString()).ok).toBe(true);
    expect(at(new Date(now + MAX_FUTURE_EVENT_MS + 1000).toISOString()).ok).toBe(false);
    expect(at('2001-01-01T00:00:00+05:00').ok).toBe(true);
  });
});
