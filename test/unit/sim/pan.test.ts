import fc from 'fast-check';
import { maskPan, passesLuhn } from '../../../src/contract/card';
import { TEST_BINS, luhnCheckDigit, syntheticPan } from '../../../src/sim/pan';

describe('synthetic PANs', () => {
  it('computes the Luhn check digit of known card numbers', () => {
    expect(luhnCheckDigit('411111111111111')).toBe(1); // 4111 1111 1111 1111
    expect(luhnCheckDigit('555555555555444')).toBe(4); // 5555 5555 5555 4444
    expect(luhnCheckDigit('222300312200322')).toBe(2); // 2223 0031 2200 3222
  });

  it('are 16 digits in a test BIN range and pass the contract’s Luhn check', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TEST_BINS), fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 999_999_999 }), (bin, index, scramble) => {
        const pan = syntheticPan(bin, index, scramble);
        expect(pan).toMatch(/^[0-9]{16}$/);
        expect(pan.startsWith(bin)).toBe(true);
        expect(passesLuhn(pan)).toBe(true);
        expect(maskPan(pan)).toBe(`${bin}******${pan.slice(-4)}`);
      }),
    );
  });

  it('never gives two cards of a population the same PAN', () => {
    const pans = new Set<string>();
    for (let i = 0; i < 50_000; i++) pans.add(syntheticPan(TEST_BINS[0], i, 123_456_789));
    expect(pans.size).toBe(50_000);
  });
});
