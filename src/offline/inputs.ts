/**
 * The input options shared by `npm run train` and `npm run evaluate`: which files, in which format, and how
 * labels arrive. Kept apart from the two commands so both read data exactly the same way.
 */
import { extname } from 'node:path';
import type { CardLabel } from '../contract';
import { DatasetInputError, DEFAULT_LABEL_DELAY_MS, parseCsvMapping, parseTime, readLabelsNdjson, readTransactionsCsv, readTransactionsNdjson, SourceReport, type SourceRecord } from './sources';

export const INPUT_OPTIONS = {
  input: { type: 'string' },
  labels: { type: 'string' },
  'csv-map': { type: 'string' },
  'csv-delimiter': { type: 'string', default: ',' },
  'label-delay-days': { type: 'string', default: String(DEFAULT_LABEL_DELAY_MS / 86_400_000) },
  currency: { type: 'string', default: 'KZT' },
} as const;

export const INPUT_HELP = `Input:
  --input <file>            transactions: .ndjson (v1 contract, time-ordered) or .csv (with --csv-map)
  --labels <file>           labels, v1 NDJSON (reportedAt is when each label became known)
  --csv-map <pairs>         CSV column mapping, field=column,…; fields: transactionId, timestamp, card, amount,
                            currency, accountId, merchantId, terminalId, mcc, country, city, latitude, longitude,
                            channel, entryMode, cardPresent, approved, deviceId, ip, label, reportedAt.
                            timestamp, card and amount are required; unmapped fields leave features neutral
  --csv-delimiter <c>       default ","
  --label-delay-days <n>    CSV fraud rows without reportedAt become known this long after the transaction (default 7)
  --currency <ISO>          currency of transactions that carry none (default KZT)`;

export interface InputArgs {
  input?: string;
  labels?: string;
  'csv-map'?: string;
  'csv-delimiter'?: string;
  'label-delay-days'?: string;
  currency?: string;
}

export interface OpenedInputs {
  /** A fresh pass over the transactions each call. */
  records(): AsyncIterable<SourceRecord>;
  labels: CardLabel[];
  transactionReport: SourceReport;
  labelReport: SourceReport;
  sources: string[];
}

export async function openInputs(args: InputArgs): Promise<OpenedInputs> {
  const input = args.input;
  if (input === undefined) throw new DatasetInputError('--input is required (an NDJSON or CSV file of transactions)');
  const transactionReport = new SourceReport();
  const labelReport = new SourceReport();
  const labels = args.labels === undefined ? [] : await readLabelsNdjson(args.labels, { report: labelReport });
  const csv = extname(input).toLowerCase() === '.csv';
  if (csv && args['csv-map'] === undefined) throw new DatasetInputError(`${input} is CSV: say which column is which with --csv-map (e.g. timestamp=TX_DATETIME,card=CUSTOMER_ID,amount=TX_AMOUNT,label=TX_FRAUD)`);
  const delayDays = Number(args['label-delay-days'] ?? 7);
  if (!(delayDays >= 0)) throw new DatasetInputError('--label-delay-days must be a number of days >= 0');
  const mapping = csv ? parseCsvMapping(args['csv-map']!) : undefined;
  const common = { report: transactionReport, defaultCurrency: args.currency ?? 'KZT' };
  return {
    records: () =>
      mapping !== undefined
        ? readTransactionsCsv(input, mapping, { ...common, delimiter: args['csv-delimiter'], labelDelayMs: delayDays * 86_400_000 })
        : readTransactionsNdjson(input, common),
    labels,
    transactionReport,
    labelReport,
    sources: [input, ...(args.labels ? [args.labels] : [])],
  };
}

/** A command-line instant: a date (UTC midnight) or an ISO timestamp. */
export function parseInstant(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseTime(text);
  if (!Number.isFinite(ms)) throw new DatasetInputError(`--${option} "${text}" is not a date (2026-02-20) or an ISO timestamp`);
  return ms;
}
