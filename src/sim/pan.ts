/**
 * Synthetic card numbers: Luhn-valid 16-digit PANs inside the card networks' published test ranges, so nothing the
 * simulator emits can be a real card, yet the service's PAN handling (tokenizing, masking, scrubbing) is exercised.
 */

/** Test BINs: Visa 4000 00 (issuers' and PSPs' test cards), Mastercard 5555 55 and 2-series 2223 00. */
export const TEST_BINS = ['400000', '555555', '222300'] as const;

const ACCOUNT_DIGITS = 9;
const ACCOUNT_SPACE = 10n ** BigInt(ACCOUNT_DIGITS);
/** Coprime with 10^9, so `index × MULTIPLIER + offset mod 10^9` is a bijection: distinct cards never share a PAN. */
const MULTIPLIER = 387_420_489n; // 3^18

/** The digit that makes `partial + digit` pass the Luhn check. */
export function luhnCheckDigit(partial: string): number {
  let sum = 0;
  // The check digit will sit at the right, so the rightmost digit of `partial` is the first one doubled.
  let double = true;
  for (let i = partial.length - 1; i >= 0; i--) {
    let d = partial.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * The PAN of card number `cardIndex` in a population. Account digits are scrambled rather than sequential so
 * neighbouring cards do not look like a BIN-attack enumeration; `scramble` (from the seed) varies them across seeds.
 */
export function syntheticPan(bin: string, cardIndex: number, scramble: number): string {
  const account = (BigInt(cardIndex) * MULTIPLIER + BigInt(scramble)) % ACCOUNT_SPACE;
  const partial = bin + account.toString().padStart(ACCOUNT_DIGITS, '0');
  return partial + String(luhnCheckDigit(partial));
}
