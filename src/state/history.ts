/**
 * The card's references (lua/includes: the `refs` hash; twin.ts CardReference) as history entries, for both stores:
 * struct '<I4BH' (event minute, label, #terminalId) .. terminalId .. merchantId, keyed by transaction fingerprint.
 */
import { LABEL_CODE } from './codes';
import { MINUTE_MS } from './layout';
import type { CardHistoryEntry } from './store';

export interface ReferenceFields {
  minute: number;
  label: number;
  terminalId: string;
  merchantId: string;
}

export function historyEntry(fingerprint: Buffer, reference: ReferenceFields): CardHistoryEntry {
  const entry: CardHistoryEntry = { fingerprint: fingerprint.toString('hex'), atMs: reference.minute * MINUTE_MS };
  if (reference.label === LABEL_CODE.fraud) entry.label = 'fraud';
  else if (reference.label === LABEL_CODE.genuine) entry.label = 'genuine';
  if (reference.terminalId !== '') entry.terminalId = reference.terminalId;
  if (reference.merchantId !== '') entry.merchantId = reference.merchantId;
  return entry;
}

/** Decodes one stored reference value (the Redis hash's value bytes). */
export function decodeReference(value: Buffer): ReferenceFields {
  const terminalLength = value.readUInt16LE(5);
  return {
    minute: value.readUInt32LE(0),
    label: value.readUInt8(4),
    terminalId: value.toString('utf8', 7, 7 + terminalLength),
    merchantId: value.toString('utf8', 7 + terminalLength),
  };
}
