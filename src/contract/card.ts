/**
 * Card identity. A PAN exists in this process only between decoding a message and tokenizing it: state, alerts,
 * logs and metrics see the HMAC token and at most the masked form (PCI DSS 3.4.1, 3.5.1.1).
 */
import { createHmac } from 'node:crypto';

/** Returns a function that turns a PAN (or the bank's cardId) into the card token: HMAC-SHA-256, lowercase hex. */
export function cardTokenizer(hmacKey: Buffer): (panOrCardId: string) => string {
  return (value) => createHmac('sha256', hmacKey).update(value, 'utf8').digest('hex');
}

/** First 6 and last 4 digits, the middle starred: the most PCI DSS 3.4.1 allows to display. */
export function maskPan(pan: string): string {
  return `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`;
}

/** The Luhn check digit test, used to tell a PAN from other long digit runs when scrubbing free text. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

const DIGIT_RUN = /\d(?:[ -]?\d){11,18}/g;

/** Replaces every 12–19 digit run (spaces or dashes allowed between digits) that passes Luhn with its masked form. */
export function scrubPans(text: string): string {
  return text.replace(DIGIT_RUN, (run) => {
    const digits = run.replace(/[ -]/g, '');
    return digits.length >= 12 && digits.length <= 19 && passesLuhn(digits) ? maskPan(digits) : run;
  });
}
