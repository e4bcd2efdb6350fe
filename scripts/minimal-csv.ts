/**
 * `npm run minimal-csv -- --input traffic.ndjson --truth truth.ndjson --out minimal.csv`
 *
 * The simulator's traffic as the minimal export a bank (or a public dataset) may give: transaction id, time, card,
 * terminal, amount and a fraud flag, nothing else. A model trained and evaluated on it with --csv-map shows what the
 * features need beyond those fields. The card column is the offline card token, never the PAN; an online shop
 * without a terminal id counts as its own terminal (its merchant id).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFraudTruth, readTransactionsNdjson } from '../src/offline/sources';
import { parseToolArgs } from '../src/cli/args';

const { values: args } = parseToolArgs('minimal-csv', { options: { input: { type: 'string' }, truth: { type: 'string' }, out: { type: 'string' } } });

export const MINIMAL_CSV_MAP = 'transactionId=TRANSACTION_ID,timestamp=TX_DATETIME,card=CUSTOMER_ID,terminalId=TERMINAL_ID,amount=TX_AMOUNT,label=TX_FRAUD';

async function main(): Promise<void> {
  if (args.input === undefined || args.truth === undefined || args.out === undefined) {
    throw new Error('usage: npm run minimal-csv -- --input traffic.ndjson --truth truth.ndjson --out minimal.csv');
  }
  const fraud = await readFraudTruth(args.truth);
  const out = createWriteStream(args.out);
  out.write('TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n');
  let rows = 0;
  let frauds = 0;
  for await (const { transaction: t } of readTransactionsNdjson(args.input)) {
    const isFraud = fraud.has(t.transactionId) ? 1 : 0;
    if (!out.write(`${t.transactionId},${t.timestamp},${t.cardToken},${t.terminalId ?? t.merchantId ?? ''},${t.amount},${isFraud}\n`)) await once(out, 'drain');
    rows++;
    frauds += isFraud;
  }
  out.end();
  await once(out, 'finish');
  console.log(`wrote ${rows} rows (${frauds} fraud) to ${args.out}; read it with --csv-map ${MINIMAL_CSV_MAP}`);
}

main().catch((error: unknown) => {
  console.error(`minimal-csv: ${(error as Error).message}`);
  process.exitCode = 1;
});
