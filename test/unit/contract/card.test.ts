import { cardTokenizer, maskPan, passesLuhn, scrubPans } from '../../../src/contract/card';
import { toCardTransaction } from '../../../src/contract/transaction';

describe('card identity', () => {
  const tokenize = cardTokenizer(Buffer.from('k'.repeat(32)));

  it('tokenizes deterministically with HMAC-SHA-256 and depends on the key', () => {
    const token = tokenize('4400430000000007');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenize('4400430000000007')).toBe(token);
    expect(cardTokenizer(Buffer.from('j'.repeat(32)))('4400430000000007')).not.toBe(token);
  });

  it('masks to the first 6 and last 4 digits', () => {
    expect(maskPan('4400430000000007')).toBe('440043******0007');
    expect(maskPan('440043000000000007')).toBe('440043********0007');
  });

  it('checks Luhn', () => {
    expect(passesLuhn('4400430000000007')).toBe(true);
    expect(passesLuhn('4400430000000006')).toBe(false);
  });

  it('scrubs Luhn-valid digit runs from free text, also with spaces or dashes, and leaves other numbers', () => {
    const text = 'card 4400430000000007 and 4400-4300-0000-0007; order 123456789012 amount 15000';
    const scrubbed = scrubPans(text);
    expect(scrubbed).not.toContain('4400430000000007');
    expect(scrubbed).not.toContain('4400-4300-0000-0007');
    expect(scrubbed).toContain('440043******0007');
    expect(scrubbed).toContain('order 123456789012'); // 12 digits, not Luhn-valid
  });

  it('builds a PAN-free internal transaction and drops unknown fields', () => {
    const message = { transactionId: 't', timestamp: '2026-11-30T09:15:00+05:00', pan: '4400430000000007', amount: 5, cvv: '123' };
    const txn = toCardTransaction(message as never, tokenize, 'KZT');
    expect(JSON.stringify(txn)).not.toContain('4400430000000007');
    expect(JSON.stringify(txn)).not.toContain('cvv');
    expect(txn).toMatchObject({ maskedPan: '440043******0007', currency: 'KZT', approved: true, eventTimeMs: Date.parse('2026-11-30T04:15:00Z') });
  });
});
