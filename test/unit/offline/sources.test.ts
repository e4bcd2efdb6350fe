import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay } from '../../../src/offline/dataset';
import {
  parseCsvMapping,
  parseTime,
  readLabelsNdjson,
  readTransactionsCsv,
  readTransactionsNdjson,
  SourceReport,
  splitCsvLine,
  type SourceRecord,
} from '../../../src/offline/sources';
import { FEATURE_INDEX } from '../../../src/state/features';
import { createMemoryStore } from '../../../src/state/memory-store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'card-shield-sources-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function collect(source: AsyncIterable<SourceRecord>): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const record of source) out.push(record);
  return out;
}

describe('parseCsvMapping', () => {
  it('reads field=column pairs', () => {
    expect(parseCsvMapping('timestamp=TX_DATETIME, card=CUSTOMER_ID,amount=TX_AMOUNT,label=TX_FRAUD')).toEqual({
      timestamp: 'TX_DATETIME',
      card: 'CUSTOMER_ID',
      amount: 'TX_AMOUNT',
      label: 'TX_FRAUD',
    });
  });

  it('says which required fields are unmapped', () => {
    expect(() => parseCsvMapping('timestamp=T')).toThrow('--csv-map must map card, amount');
  });

  it('names an unknown field and lists the known ones', () => {
    expect(() => parseCsvMapping('timestamp=T,card=C,amount=A,shoe=S')).toThrow(/unknown field "shoe"; fields are transactionId, timestamp/);
    expect(() => parseCsvMapping('timestamp=T,card')).toThrow(/"card" is not field=column/);
  });
});

describe('CSV parsing helpers', () => {
  it('splits quoted cells with embedded delimiters and quotes', () => {
    expect(splitCsvLine('1,"Almaty, KZ","say ""hi""",')).toEqual(['1', 'Almaty, KZ', 'say "hi"', '']);
    expect(splitCsvLine('a;b', ';')).toEqual(['a', 'b']);
    expect(splitCsvLine('1,"open')).toBeNull();
  });

  it('reads the time formats of bank exports, UTC when no offset is given', () => {
    const utc = Date.parse('2026-02-01T10:00:00Z');
    expect(parseTime('2026-02-01 10:00:00')).toBe(utc);
    expect(parseTime('2026-02-01T10:00:00Z')).toBe(utc);
    expect(parseTime('2026-02-01T15:00:00+05:00')).toBe(utc);
    expect(parseTime(String(utc / 1000))).toBe(utc);
    expect(parseTime(String(utc))).toBe(utc);
    expect(parseTime('yesterday')).toBeNaN();
  });
});

describe('readTransactionsCsv', () => {
  const mapping = { transactionId: 'TRANSACTION_ID', timestamp: 'TX_DATETIME', card: 'CUSTOMER_ID', terminalId: 'TERMINAL_ID', amount: 'TX_AMOUNT', label: 'TX_FRAUD' };

  it('names mapped columns the header lacks, and shows the header', async () => {
    const path = await file('export.csv', 'TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TX_AMOUNT\n1,2026-02-01 10:00:00,42,100\n');
    await expect(collect(readTransactionsCsv(path, mapping))).rejects.toThrow(
      'export.csv: --csv-map names columns "TERMINAL_ID" (for terminalId), "TX_FRAUD" (for label) that the header lacks; the header has TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TX_AMOUNT',
    );
  });

  it('leaves unmapped fields empty, skips unusable rows with their line, and dates labels by the delay', async () => {
    const path = await file(
      'export.csv',
      [
        'TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD',
        '1,2026-02-01 10:00:00,4000001234567899,T7,5000,0',
        '2,not a time,42,T7,100,0',
        '3,2026-02-01 10:05:00,4000001234567899,T7,-5,0',
        '4,2026-02-01 10:06:00,4000001234567899,,7000,1',
        '5,2026-02-01 11:00:00,43,T7,900,0',
      ].join('\n'),
    );
    const report = new SourceReport();
    const rows = await collect(readTransactionsCsv(path, mapping, { report, labelDelayMs: 86_400_000 }));
    expect(rows.map((r) => r.transaction.transactionId)).toEqual(['1', '4', '5']);
    expect(report).toMatchObject({ records: 3, skipped: 2 });
    expect(report.problems).toEqual(['export.csv:3: unreadable time in column TX_DATETIME', 'export.csv:4: amount in column TX_AMOUNT is not a positive number']);
    const [first, fraud] = rows;
    expect(first.transaction).toEqual({
      transactionId: '1',
      eventTimeMs: Date.parse('2026-02-01T10:00:00Z'),
      timestamp: '2026-02-01T10:00:00.000Z',
      cardToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      amount: 5000,
      currency: 'KZT',
      approved: true,
      terminalId: 'T7',
    });
    expect(JSON.stringify(rows)).not.toContain('4000001234567899');
    expect(first.label).toBeUndefined();
    expect(fraud.transaction.terminalId).toBeUndefined();
    expect(fraud.label).toEqual({ transactionId: '4', cardToken: first.transaction.cardToken, label: 'fraud', reportedAtMs: Date.parse('2026-02-02T10:06:00Z') });

    // Without geo, MCC, merchant or device columns the state still computes every feature; theirs stay neutral.
    const vectors: Float64Array[] = [];
    for await (const batch of replay(readTransactionsCsv(path, mapping, { labelDelayMs: 86_400_000 }), { store: createMemoryStore() })) {
      vectors.push(...batch.map((r) => r.features));
    }
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) {
      expect(vector.every(Number.isFinite)).toBe(true);
      expect(vector[FEATURE_INDEX['card.distance_km_from_last_present']]).toBe(0);
      expect(vector[FEATURE_INDEX['merchant.count_24h']]).toBe(0);
      expect(vector[FEATURE_INDEX['device.count_24h']]).toBe(0);
    }
    expect(vectors[1][FEATURE_INDEX['card.count_1h']]).toBe(2);
  });

  it('refuses an empty file', async () => {
    const path = await file('empty.csv', '');
    await expect(collect(readTransactionsCsv(path, mapping))).rejects.toThrow('empty.csv is empty');
  });
});

describe('NDJSON sources', () => {
  it('tokenizes PANs, skips invalid lines with their line number and never echoes a PAN', async () => {
    const good = { transactionId: 'x1', timestamp: '2026-02-01T10:00:00+05:00', pan: '4000001234567899', amount: 10 };
    const path = await file('traffic.ndjson', `${JSON.stringify(good)}\n${JSON.stringify({ ...good, pan: '40000012345678' + 'x', amount: -1 })}\n`);
    const report = new SourceReport();
    const rows = await collect(readTransactionsNdjson(path, { report }));
    expect(rows).toHaveLength(1);
    expect(rows[0].transaction.cardToken).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].transaction.maskedPan).toBe('400000******7899');
    expect(report.skipped).toBe(1);
    expect(report.problems[0]).toMatch(/^traffic.ndjson:2: /);
    expect(report.problems.join()).not.toContain('4000001234567');
  });

  it('reads labels with the same card token as their transactions', async () => {
    const path = await file('labels.ndjson', `${JSON.stringify({ transactionId: 'x1', pan: '4000001234567899', label: 'fraud', reportedAt: '2026-02-03T00:00:00Z' })}\n`);
    const [label] = await readLabelsNdjson(path);
    const txnPath = await file('t.ndjson', `${JSON.stringify({ transactionId: 'x1', timestamp: '2026-02-01T10:00:00Z', pan: '4000001234567899', amount: 10 })}\n`);
    const [row] = await collect(readTransactionsNdjson(txnPath));
    expect(label).toEqual({ transactionId: 'x1', cardToken: row.transaction.cardToken, label: 'fraud', reportedAtMs: Date.parse('2026-02-03T00:00:00Z') });
  });
});
