/**
 * Offline inputs for training and evaluation, turned into the service's own `CardTransaction` / `CardLabel`:
 * the NDJSON v1 contract (what the simulator writes and the topics carry) and CSV exports with a column mapping
 * given on the command line. Card numbers are tokenized as they are read, with a fixed offline key: the tokens
 * only group a card's transactions, and no PAN is kept or echoed in a problem report.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import {
  cardTokenizer,
  decodeLabel,
  decodeTransaction,
  formatErrors,
  scrubPans,
  toCardLabel,
  toCardTransaction,
  type CardLabel,
  type CardTransaction,
  type Channel,
  type EntryMode,
} from '../contract';
import type { DecodeResult } from '../contract/validate';
import { NonRetriableError } from '../errors';

/**
 * The card tokenizer of offline runs, with a fixed key so two runs over the same file group cards identically.
 * Offline only: the live service tokenizes with PAN_HMAC_KEY from its secret store.
 */
export function offlineTokenizer(): (panOrCardId: string) => string {
  return cardTokenizer(Buffer.from('card-shield offline training and evaluation token key'));
}

/** An input the dataset builder cannot use: names the file, the line or column, and what to fix. */
export class DatasetInputError extends NonRetriableError {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetInputError';
  }
}

/** One record of a source: a transaction, and its label when the source carries labels inline (CSV). */
export interface SourceRecord {
  transaction: CardTransaction;
  label?: CardLabel;
}

/** Counts of what a source held and what was skipped, with the first problems by line. */
export class SourceReport {
  records = 0;
  skipped = 0;
  readonly problems: string[] = [];

  skip(where: string, problem: string): void {
    this.skipped++;
    if (this.problems.length < 10) this.problems.push(`${where}: ${scrubPans(problem)}`);
  }
}

export interface SourceOptions {
  tokenize?: (panOrCardId: string) => string;
  defaultCurrency?: string;
  report?: SourceReport;
}

export async function* lines(path: string): AsyncGenerator<[number, string]> {
  const reader = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let number = 0;
  for await (const line of reader) {
    number++;
    if (line.trim() !== '') yield [number, line];
  }
}

/** One raw v1 message and where it came from (file:line, topic/partition@offset), for problem reports. */
export interface RawMessage {
  where: string;
  value: Buffer | string | null;
}

async function* fileMessages(path: string): AsyncGenerator<RawMessage> {
  const file = basename(path);
  for await (const [number, line] of lines(path)) yield { where: `${file}:${number}`, value: line };
}

/** The valid messages; an invalid one is skipped and reported with where it was. */
async function* decodeEach<T>(messages: AsyncIterable<RawMessage> | Iterable<RawMessage>, decode: (value: Buffer | string | null) => DecodeResult<T>, report: SourceReport): AsyncGenerator<T> {
  for await (const { where, value } of messages) {
    const decoded = decode(value);
    if (!decoded.ok) {
      report.skip(where, formatErrors(decoded.errors));
      continue;
    }
    report.records++;
    yield decoded.value;
  }
}

/** Transactions of v1 messages (a file's lines or a topic's records); invalid ones are skipped and reported. */
export async function* decodeTransactions(messages: AsyncIterable<RawMessage> | Iterable<RawMessage>, options: SourceOptions = {}): AsyncGenerator<SourceRecord> {
  const tokenize = options.tokenize ?? offlineTokenizer();
  for await (const message of decodeEach(messages, decodeTransaction, options.report ?? new SourceReport())) {
    yield { transaction: toCardTransaction(message, tokenize, options.defaultCurrency ?? 'KZT') };
  }
}

/** Labels of v1 messages (small enough to hold: one per reported fraud or confirmation). */
export async function decodeLabels(messages: AsyncIterable<RawMessage> | Iterable<RawMessage>, options: SourceOptions = {}): Promise<CardLabel[]> {
  const tokenize = options.tokenize ?? offlineTokenizer();
  const labels: CardLabel[] = [];
  for await (const message of decodeEach(messages, decodeLabel, options.report ?? new SourceReport())) labels.push(toCardLabel(message, tokenize));
  return labels;
}

/** Transactions of a v1 NDJSON file, one message a line; invalid lines are skipped and reported. */
export function readTransactionsNdjson(path: string, options: SourceOptions = {}): AsyncGenerator<SourceRecord> {
  return decodeTransactions(fileMessages(path), options);
}

/** Labels of a v1 NDJSON file. */
export function readLabelsNdjson(path: string, options: SourceOptions = {}): Promise<CardLabel[]> {
  return decodeLabels(fileMessages(path), options);
}

/**
 * The simulator's ground truth (truth.ndjson): fraud transaction id → scenario. For evaluation only: it knows
 * frauds nobody reported, which no label file does.
 */
export async function readFraudTruth(path: string): Promise<Map<string, string>> {
  const fraud = new Map<string, string>();
  const file = basename(path);
  for await (const [number, line] of lines(path)) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new DatasetInputError(`${file}:${number} is not JSON`);
    }
    if (typeof entry !== 'object' || entry === null) continue;
    const { type, transactionId, scenario } = entry as Record<string, unknown>;
    if (type === 'fraud' && typeof transactionId === 'string') fraud.set(transactionId, typeof scenario === 'string' ? scenario : 'fraud');
  }
  return fraud;
}

// ---------------------------------------------------------------------------------------------------------------
// CSV

/** The transaction fields a CSV column can fill, plus the label and its reporting time. */
export const CSV_FIELDS = [
  'transactionId',
  'timestamp',
  'card',
  'amount',
  'currency',
  'accountId',
  'merchantId',
  'terminalId',
  'mcc',
  'country',
  'city',
  'latitude',
  'longitude',
  'channel',
  'entryMode',
  'cardPresent',
  'approved',
  'deviceId',
  'ip',
  'label',
  'reportedAt',
] as const;
export type CsvField = (typeof CSV_FIELDS)[number];
export type CsvMapping = Partial<Record<CsvField, string>>;

const REQUIRED_CSV_FIELDS: readonly CsvField[] = ['timestamp', 'card', 'amount'];

/**
 * Parses `--csv-map "timestamp=TX_DATETIME,card=CUSTOMER_ID,amount=TX_AMOUNT,label=TX_FRAUD"`: field=column pairs.
 * Fields left out stay empty (their features stay neutral); timestamp, card and amount are required.
 */
export function parseCsvMapping(text: string): CsvMapping {
  const mapping: CsvMapping = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const field = pair.slice(0, eq).trim();
    const column = pair.slice(eq + 1).trim();
    if (eq < 1 || column === '') throw new DatasetInputError(`--csv-map: "${pair}" is not field=column`);
    if (!(CSV_FIELDS as readonly string[]).includes(field)) {
      throw new DatasetInputError(`--csv-map: unknown field "${field}"; fields are ${CSV_FIELDS.join(', ')}`);
    }
    mapping[field as CsvField] = column;
  }
  const missing = REQUIRED_CSV_FIELDS.filter((f) => mapping[f] === undefined);
  if (missing.length > 0) throw new DatasetInputError(`--csv-map must map ${missing.join(', ')} (e.g. timestamp=TX_DATETIME)`);
  return mapping;
}

/** Splits one CSV line (RFC 4180 quoting, "" for a quote inside a quoted field). Returns null on an open quote. */
export function splitCsvLine(line: string, delimiter = ','): string[] | null {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (line[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === delimiter) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  if (quoted) return null;
  cells.push(cell);
  return cells;
}

/**
 * Event times as exports write them: ISO-8601 (a time without offset is UTC), "YYYY-MM-DD HH:MM:SS", or epoch
 * seconds / milliseconds. NaN when unreadable.
 */
export function parseTime(text: string): number {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value);
    return n >= 1e11 ? n : n * 1000;
  }
  const iso = value.replace(' ', 'T');
  const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(iso);
  return Date.parse(hasOffset || !iso.includes('T') ? iso : `${iso}Z`);
}

function parseBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'y', 't'].includes(value)) return true;
  if (['0', 'false', 'no', 'n', 'f'].includes(value)) return false;
  return undefined;
}

function parseFraudFlag(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (value === 'fraud') return true;
  if (value === 'genuine' || value === '') return false;
  return parseBoolean(value);
}

const CHANNELS: readonly Channel[] = ['pos', 'ecom', 'atm', 'moto'];
const ENTRY_MODES: readonly EntryMode[] = ['chip', 'contactless', 'magstripe', 'manual', 'ecom'];

export interface CsvOptions extends SourceOptions {
  delimiter?: string;
  /** When a fraud row has no reporting time, the label is known this long after the transaction (default 7 days). */
  labelDelayMs?: number;
}

export const DEFAULT_LABEL_DELAY_MS = 7 * 86_400_000;

/**
 * Transactions (and inline fraud labels) of a CSV export. A mapped column absent from the header is an error
 * naming it; an unmapped field stays empty. A row without a usable time, card or positive amount is skipped and
 * reported. A label column marks fraud (1/true/yes/fraud); other values mean "not known to be fraud".
 */
export async function* readTransactionsCsv(path: string, mapping: CsvMapping, options: CsvOptions = {}): AsyncGenerator<SourceRecord> {
  const tokenize = options.tokenize ?? offlineTokenizer();
  const report = options.report ?? new SourceReport();
  const delimiter = options.delimiter ?? ',';
  const labelDelayMs = options.labelDelayMs ?? DEFAULT_LABEL_DELAY_MS;
  const currency = options.defaultCurrency ?? 'KZT';
  const file = basename(path);
  let column: Partial<Record<CsvField, number>> | undefined;
  for await (const [number, line] of lines(path)) {
    const cells = splitCsvLine(line, delimiter);
    const where = `${file}:${number}`;
    if (column === undefined) {
      if (cells === null) throw new DatasetInputError(`${where}: the header line has an unclosed quote`);
      const header = cells.map((c) => c.trim());
      const absent = Object.entries(mapping).filter(([, name]) => !header.includes(name!));
      if (absent.length > 0) {
        throw new DatasetInputError(
          `${file}: --csv-map names column${absent.length > 1 ? 's' : ''} ${absent.map(([f, c]) => `"${c}" (for ${f})`).join(', ')} that the header lacks; the header has ${header.join(', ')}`,
        );
      }
      column = Object.fromEntries(Object.entries(mapping).map(([field, name]) => [field, header.indexOf(name!)]));
      continue;
    }
    if (cells === null) {
      report.skip(where, 'unclosed quote');
      continue;
    }
    const get = (field: CsvField): string | undefined => {
      const index = column![field];
      if (index === undefined) return undefined;
      const value = cells[index]?.trim();
      return value === undefined || value === '' ? undefined : value;
    };
    const eventTimeMs = parseTime(get('timestamp') ?? '');
    const cardKey = get('card');
    const amount = Number(get('amount'));
    if (!Number.isFinite(eventTimeMs)) {
      report.skip(where, `unreadable time in column ${mapping.timestamp}`);
      continue;
    }
    if (cardKey === undefined) {
      report.skip(where, `empty card column ${mapping.card}`);
      continue;
    }
    if (!(amount > 0)) {
      report.skip(where, `amount in column ${mapping.amount} is not a positive number`);
      continue;
    }
    const transaction: CardTransaction = {
      transactionId: get('transactionId') ?? `${file}:${number}`,
      eventTimeMs,
      timestamp: new Date(eventTimeMs).toISOString(),
      cardToken: tokenize(cardKey),
      amount,
      currency: get('currency')?.toUpperCase() ?? currency,
      approved: parseBoolean(get('approved') ?? '') ?? true,
    };
    for (const field of ['accountId', 'merchantId', 'terminalId', 'city', 'deviceId', 'ip'] as const) {
      const value = get(field);
      if (value !== undefined) transaction[field] = value;
    }
    const mcc = get('mcc');
    if (mcc !== undefined && /^\d{4}$/.test(mcc)) transaction.mcc = mcc;
    const country = get('country')?.toUpperCase();
    if (country !== undefined && /^[A-Z]{2}$/.test(country)) transaction.country = country;
    const latitude = Number(get('latitude'));
    const longitude = Number(get('longitude'));
    if (get('latitude') !== undefined && get('longitude') !== undefined && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180) {
      transaction.latitude = latitude;
      transaction.longitude = longitude;
    }
    const channel = get('channel')?.toLowerCase();
    if (channel !== undefined && (CHANNELS as readonly string[]).includes(channel)) transaction.channel = channel as Channel;
    const entryMode = get('entryMode')?.toLowerCase();
    if (entryMode !== undefined && (ENTRY_MODES as readonly string[]).includes(entryMode)) transaction.entryMode = entryMode as EntryMode;
    const cardPresent = parseBoolean(get('cardPresent') ?? '');
    if (cardPresent !== undefined) transaction.cardPresent = cardPresent;
    report.records++;
    const record: SourceRecord = { transaction };
    if (parseFraudFlag(get('label') ?? '') === true) {
      const reportedAtMs = parseTime(get('reportedAt') ?? '');
      record.label = {
        transactionId: transaction.transactionId,
        cardToken: transaction.cardToken,
        label: 'fraud',
        reportedAtMs: Number.isFinite(reportedAtMs) ? reportedAtMs : eventTimeMs + labelDelayMs,
      };
    }
    yield record;
  }
  if (column === undefined) throw new DatasetInputError(`${file} is empty: a CSV export needs a header line`);
}
