/**
 * Finding PANs in what the service leaves behind. Two detectors, because each alone misses something:
 * - `exactPans`: any of the PANs the test sent, as a substring of anything (including inside hex or longer runs);
 * - `luhnRuns`: any Luhn-valid 12–19 digit run standing on its own: not inside a longer alphanumeric run (a hex card
 *   token may contain twelve decimal digits in a row) and not after a decimal point (a score's fraction digits).
 *   Numbers that are not data (log `time`, sorted-set scores: epoch milliseconds, 13 digits, Luhn-valid one time in
 *   ten) are left out by the caller, not by the detector.
 */
import { passesLuhn } from '../../src/contract/card';

const RUN = /(?<![0-9A-Za-z.])[0-9]{12,19}(?![0-9A-Za-z])/g;

export function luhnRuns(text: string): string[] {
  return [...text.matchAll(RUN)].map((m) => m[0]).filter(passesLuhn);
}

export function findPans(text: string, sent: readonly string[]): string[] {
  return [...sent.filter((pan) => text.includes(pan)), ...luhnRuns(text)];
}

/** Every string and number in a JSON value (keys too), except numbers under the keys named in `skipNumbersAt`. */
export function jsonTexts(value: unknown, skipNumbersAt: ReadonlySet<string> = new Set(), key = ''): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number') return skipNumbersAt.has(key) ? [] : [String(value)];
  if (Array.isArray(value)) return value.flatMap((v) => jsonTexts(v, skipNumbersAt, key));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [k, ...jsonTexts(v, skipNumbersAt, k)]);
  }
  return [];
}
