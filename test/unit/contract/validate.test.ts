import { decodeLabel, decodeTransaction, formatErrors } from '../../../src/contract/validate';

const good = {
  transactionId: 'tx-1',
  timestamp: '2026-11-30T09:15:00+05:00',
  pan: '4400430000000007',
  amount: 1520.5,
  currency: 'KZT',
  merchantId: 'm-1',
  terminalId: 't-1',
  mcc: '5411',
  country: 'KZ',
  latitude: 43.24,
  longitude: 76.89,
  channel: 'pos',
  entryMode: 'chip',
  cardPresent: true,
  approved: true,
};
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('decodeTransaction', () => {
  it('accepts a complete v1 transaction and ignores unknown fields', () => {
    const result = decodeTransaction(bytes({ ...good, somethingNew: { nested: true } }));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.transactionId).toBe('tx-1');
  });

  it('accepts the minimal form with cardId instead of pan', () => {
    const { pan: _pan, ...rest } = good;
    const minimal = { transactionId: rest.transactionId, timestamp: rest.timestamp, cardId: 'bank-token-1', amount: 10 };
    expect(decodeTransaction(bytes(minimal)).ok).toBe(true);
  });

  it.each([
    ['not JSON', Buffer.from('{"transactionId": '), 'invalid_json'],
    ['binary garbage', Buffer.from([0x00, 0x9f, 0x92, 0x96, 0xff]), 'invalid_utf8'],
    ['invalid UTF-8 inside a string', Buffer.concat([Buffer.from('{"transactionId":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), 'invalid_utf8'],
    ['a JSON array', bytes([good]), 'not_an_object'],
    ['a JSON string', bytes('hello'), 'not_an_object'],
    ['null', Buffer.from('null'), 'not_an_object'],
    ['an empty message', Buffer.alloc(0), 'invalid_json'],
    ['a megabyte string', bytes({ ...good, city: 'x'.repeat(1024 * 1024) }), 'too_large'],
    ['deep nesting', Buffer.from('['.repeat(20000) + ']'.repeat(20000)), 'not_an_object'],
  ])('rejects %s with reason %s', (_name, input, reason) => {
    const result = decodeTransaction(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.errors.length).toBeGreaterThan(0);
    }
  });

  it('reports every schema error with its path at once', () => {
    const result = decodeTransaction(bytes({ ...good, amount: -5, mcc: 'food', channel: 'fax', timestamp: 'yesterday', latitude: 200 }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.errors.map((e) => e.path).sort();
    expect(paths).toEqual(['/amount', '/channel', '/latitude', '/mcc', '/timestamp']);
  });

  it.each([
    ['amount as a string', { amount: '10' }, '/amount'],
    ['zero amount', { amount: 0 }, '/amount'],
    ['transactionId too long', { transactionId: 'x'.repeat(65) }, '/transactionId'],
    ['timestamp without an offset', { timestamp: '2026-11-30T09:15:00' }, '/timestamp'],
    ['impossible date', { timestamp: '2026-02-30T09:15:00Z' }, '/timestamp'],
    ['lower-case currency', { currency: 'kzt' }, '/currency'],
    ['approved as a string', { approved: 'yes' }, '/approved'],
  ])('rejects %s', (_name, patch, path) => {
    const result = decodeTransaction(bytes({ ...good, ...patch }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.path)).toContain(path);
  });

  it('requires exactly one of pan and cardId', () => {
    const both = decodeTransaction(bytes({ ...good, cardId: 'c' }));
    const neither = decodeTransaction(bytes({ ...good, pan: undefined }));
    expect(both.ok).toBe(false);
    expect(neither.ok).toBe(false);
    if (!both.ok) expect(formatErrors(both.errors)).toContain('exactly one of pan or cardId');
  });

  it('never echoes a malformed PAN in its errors', () => {
    const result = decodeTransaction(bytes({ ...good, pan: '4400430000000007X' }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(JSON.stringify(result.errors)).not.toContain('440043000000');
  });

  it('never echoes a PAN from unparseable input in its errors', () => {
    const result = decodeTransaction(Buffer.from('{"pan": 4400430000000007, oops'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(JSON.stringify(result.errors)).not.toContain('4400430000000007');
  });
});

describe('decodeLabel', () => {
  it('accepts a label and rejects an unknown label value', () => {
    const label = { transactionId: 'tx-1', pan: '4400430000000007', label: 'fraud', reportedAt: '2026-12-05T10:00:00Z', source: 'chargeback' };
    expect(decodeLabel(bytes(label)).ok).toBe(true);
    const bad = decodeLabel(bytes({ ...label, label: 'maybe' }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => e.path)).toContain('/label');
  });
});
