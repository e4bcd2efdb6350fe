/**
 * Invalid (and a few borderline valid) variants of a v1 message, for comparing two decoders on what they reject and
 * how they word it: wrong types, missing and doubled card keys, bounds, patterns, enums and date-times. Deterministic:
 * the same message gives the same variants, so `npm run bench:decode` can digest the outcomes of old and new code.
 */

type Json = Record<string, unknown>;

/** Values that break (or test the edge of) a field of the transaction and label schemas, by field. */
const BAD_VALUES: Record<string, unknown[]> = {
  transactionId: ['', 'x'.repeat(64), 'x'.repeat(65), 7, null, ['a'], { a: 1 }, true],
  timestamp: [
    '2026-11-30T09:15:00',
    '2026-02-30T09:15:00Z',
    '2026-02-29T09:15:00Z',
    '2024-02-29T09:15:00Z',
    '2026-11-30t09:15:00z',
    '2026-11-30 09:15:00Z',
    '2026-11-30T24:00:00Z',
    '2026-11-30T23:59:60Z',
    '2026-11-30T09:15:00.123456+05:00',
    '2026-11-30T09:15:00+24:00',
    '2026-11-30T09:15:00+05:60',
    '2026-13-01T09:15:00Z',
    '0000-01-01T00:00:00Z',
    '2026-11-30T09:15:00+05:00' + ' '.repeat(20),
    'yesterday',
    '',
    1733000000000,
    null,
  ],
  pan: ['', '12345678901', '1234567890123456789', '12345678901234567890', '4400430000000007X', ' 4400430000000007', '4400430000000007\n', '٤٤٠٠٤٣٠٠٠٠٠٠٠٠٠٧', 4400430000000007, null],
  cardId: ['', 'c'.repeat(128), 'c'.repeat(129), 5, null],
  cardToken: ['a'.repeat(64), 'A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64), 1, null],
  amount: [0, -1, 1e-9, 1e12, 1e12 + 1, '10', null, true, [1]],
  currency: ['kzt', 'KZ', 'KZTT', 'KZT\n', 3, null],
  accountId: ['', 'a'.repeat(65), 1, null],
  merchantId: ['', 'm'.repeat(65), 1, {}],
  terminalId: ['', 't'.repeat(65), false],
  mcc: ['541', '54111', 'food', 5411, '５４１１'],
  country: ['kz', 'KAZ', 'K', 1],
  city: ['', 'c'.repeat(64), 'c'.repeat(65), 1, null],
  latitude: [90, 90.0001, -90.0001, '43', null],
  longitude: [180, 180.5, -181, '76', null],
  channel: ['fax', 'POS', '', 1, null],
  entryMode: ['swipe', 'CHIP', 1],
  cardPresent: ['true', 1, null],
  approved: ['yes', 0, null],
  deviceId: ['', 'd'.repeat(129), 1],
  ip: ['1', '1'.repeat(46), '::', 1],
  label: ['maybe', 'FRAUD', 1, null],
  reportedAt: ['2026-12-05T10:00:00', 'never', 5],
  source: ['desk', 1],
};

/** Every single-field variant of `message`, then a few that combine errors or change the card key. */
export function mutations(message: Json): Json[] {
  const out: Json[] = [];
  for (const [field, values] of Object.entries(BAD_VALUES)) {
    for (const value of values) out.push({ ...message, [field]: value });
    if (field in message) {
      const { [field]: _removed, ...rest } = message;
      out.push(rest);
    }
  }
  // the card key: both, neither, and each alternative alone
  const { pan, cardId, cardToken, ...keyless } = message;
  out.push(keyless);
  out.push({ ...keyless, pan: pan ?? '4400430000000007', cardId: cardId ?? 'bank-card-1' });
  out.push({ ...keyless, cardId: 'bank-card-1' });
  out.push({ ...keyless, cardToken: cardToken ?? 'a'.repeat(64) });
  out.push({ ...keyless, pan: '12', cardId: '' });
  // several errors at once (the dead-letter reason lists them all), and unknown fields (ignored)
  out.push({ ...message, amount: -5, mcc: 'food', channel: 'fax', timestamp: 'yesterday', latitude: 200 });
  out.push({ ...message, transactionId: 1, amount: 'x', pan: 'x', country: 'x', approved: 'x' });
  out.push({ ...message, somethingNew: { nested: [1, 2, 3] }, cvv: '123' });
  out.push({ ...message, ['__proto__']: { amount: -1 } });
  return out;
}
