/**
 * The v1 message contract: the one definition behind the JSON Schema files in `schemas/`, the runtime validators
 * and the TypeScript types. Change a message here, then run `npm run docs` to re-emit the public files
 * (a unit test fails while they differ).
 */
import { Type, type Static } from '@sinclair/typebox';

/** Every free-text field is bounded so a hostile producer cannot make us hold megabytes per message. */
const id = (description: string, maxLength = 64) => Type.String({ minLength: 1, maxLength, description });
const timestamp = (description: string) =>
  Type.String({ format: 'date-time', maxLength: 40, description: `${description} ISO-8601 with a UTC offset, e.g. 2026-11-30T09:15:00+05:00.` });

/** A closed set of strings, emitted as a JSON Schema `enum` (one clear error instead of one per alternative). */
const stringEnum = <const T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

export const ChannelSchema = stringEnum(['pos', 'ecom', 'atm', 'moto'] as const, 'Channel of the authorisation.');
export const EntryModeSchema = stringEnum(['chip', 'contactless', 'magstripe', 'manual', 'ecom'] as const, 'How the card data was read.');

export const TransactionV1 = Type.Object(
  {
    transactionId: id('Unique id of the authorisation; the deduplication key (Kafka delivers at least once).'),
    timestamp: timestamp('Event time of the authorisation.'),
    pan: Type.Optional(Type.String({ pattern: '^[0-9]{12,19}$', description: 'Primary account number, 12–19 digits. Exactly one of pan or cardId. Never stored: tokenized on arrival.' })),
    cardId: Type.Optional(id("The bank's own card token. Exactly one of pan or cardId.", 128)),
    amount: Type.Number({ exclusiveMinimum: 0, maximum: 1e12, description: 'Amount in major units of currency (e.g. 1520.50).' }),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code; defaults to DEFAULT_CURRENCY.' })),
    accountId: Type.Optional(id('Account the card draws on.')),
    merchantId: Type.Optional(id('Acquirer merchant id.')),
    terminalId: Type.Optional(id('Terminal id (POS or ATM).')),
    mcc: Type.Optional(Type.String({ pattern: '^[0-9]{4}$', description: 'Merchant category code, 4 digits.' })),
    country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 country of the merchant.' })),
    city: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'City of the merchant.' })),
    latitude: Type.Optional(Type.Number({ minimum: -90, maximum: 90, description: 'Merchant or terminal latitude, degrees.' })),
    longitude: Type.Optional(Type.Number({ minimum: -180, maximum: 180, description: 'Merchant or terminal longitude, degrees.' })),
    channel: Type.Optional(ChannelSchema),
    entryMode: Type.Optional(EntryModeSchema),
    cardPresent: Type.Optional(Type.Boolean({ description: 'True when the card was physically present.' })),
    approved: Type.Optional(Type.Boolean({ description: 'Issuer decision; declines matter for card testing. Defaults to true.' })),
    deviceId: Type.Optional(id('Device fingerprint for card-not-present transactions.', 128)),
    ip: Type.Optional(Type.String({ minLength: 2, maxLength: 45, description: 'Client IP for card-not-present transactions.' })),
  },
  {
    $id: 'https://card-shield.dev/schemas/transaction.v1.json',
    title: 'Card transaction v1',
    description: 'Topic card-transactions; Kafka key = the card (PAN, cardId or the bank’s token) so a card stays on one partition. Unknown fields are ignored.',
    oneOf: [{ required: ['pan'] }, { required: ['cardId'] }],
  },
);
export type TransactionMessage = Static<typeof TransactionV1>;

export const Reason = Type.Object(
  {
    code: Type.String({ description: 'Stable machine code, e.g. CARD_VELOCITY_10M or MODEL_FEATURE.' }),
    message: Type.String({ description: 'Human sentence with the values, e.g. "7 transactions in 10 minutes (limit 5)".' }),
    value: Type.Optional(Type.Number()),
    threshold: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
export type Reason = Static<typeof Reason>;

export const AlertType = stringEnum(['transaction', 'card-at-risk', 'compromised-point'] as const);
export const Action = stringEnum(['review', 'block'] as const);
export type Action = Static<typeof Action>;

export const AlertV1 = Type.Object(
  {
    alertId: Type.String({ description: 'Deterministic: the same transaction and alert type always give the same id, so downstream systems can deduplicate redeliveries.' }),
    type: AlertType,
    transactionId: Type.Optional(Type.String()),
    timestamp: timestamp('Event time of the transaction (or of the finding).'),
    createdAt: timestamp('When card-shield created the alert.'),
    cardToken: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'HMAC-SHA-256 of the PAN (or cardId) under PAN_HMAC_KEY, hex.' })),
    maskedPan: Type.Optional(Type.String({ pattern: '^[0-9]{6}[*]{2,9}[0-9]{4}$', description: 'First 6 and last 4 digits, when a PAN was given.' })),
    accountId: Type.Optional(Type.String()),
    merchantId: Type.Optional(Type.String()),
    terminalId: Type.Optional(Type.String()),
    score: Type.Number({ minimum: 0, maximum: 1 }),
    action: Action,
    reasons: Type.Array(Reason),
    model: Type.Optional(Type.Object({ version: Type.String(), score: Type.Number({ minimum: 0, maximum: 1 }) })),
    rulesVersion: Type.String({ description: 'The rule set version (transaction alerts) or the compromise detector version (compromise-…) that produced the alert.' }),
    // ---- compromise detection (card-at-risk and compromised-point alerts); additive, absent on transaction alerts
    point: Type.Optional(
      Type.Object(
        { kind: stringEnum(['terminal', 'merchant'] as const), id: Type.String() },
        { description: 'The point of purchase found compromised (compromised-point) or where the card was exposed (card-at-risk).' },
      ),
    ),
    shape: Type.Optional(
      stringEnum(['common-point', 'fraud-at-point'] as const, 'common-point: victims shared the point before their fraud (a breach there); fraud-at-point: the fraud happened at the point itself.'),
    ),
    window: Type.Optional(
      Type.Object(
        { from: timestamp('Start of the estimated breach window.'), until: timestamp('End of the estimated breach window.') },
        { description: 'Estimated breach window, from the victims’ visits.' },
      ),
    ),
    evidence: Type.Optional(
      Type.Object(
        {
          victims: Type.Number({ description: 'Victims (or fraud transactions) inside the window; suspected victims count by their weight.' }),
          visitors: Type.Integer({ description: 'Distinct cards (or transactions) seen at the point inside the window.' }),
          expected: Type.Number({ description: 'Victims expected there at the base rate of all cards.' }),
          pValue: Type.Number({ minimum: 0, maximum: 1, description: 'P(at least this many victims | the point is ordinary), Poisson, corrected for the windows tried.' }),
        },
        { description: 'The numbers behind the finding.' },
      ),
    ),
    findingId: Type.Optional(Type.String({ description: 'Stable across a point’s updated compromised-point alerts and the card-at-risk alerts they raise.' })),
    revision: Type.Optional(Type.Integer({ minimum: 1, description: 'compromised-point: 1 for the first alert of a finding, +1 for each update.' })),
    supersedes: Type.Optional(Type.String({ description: 'compromised-point: the alertId this update replaces.' })),
    exposedAt: Type.Optional(timestamp('card-at-risk: when the card was at the point, inside the window.')),
    recommendation: Type.Optional(stringEnum(['reissue', 'monitor'] as const, 'card-at-risk: what the issuer should do with the card.')),
  },
  {
    $id: 'https://card-shield.dev/schemas/alert.v1.json',
    title: 'Fraud alert v1',
    description: 'Topic fraud-alerts; Kafka key = cardToken.',
  },
);
export type AlertMessage = Static<typeof AlertV1>;

export const LabelV1 = Type.Object(
  {
    transactionId: id('The transaction this label is about.'),
    pan: Type.Optional(Type.String({ pattern: '^[0-9]{12,19}$', description: 'Exactly one of pan or cardId.' })),
    cardId: Type.Optional(id("The bank's own card token.", 128)),
    cardToken: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description: "card-shield's own card token (as in alerts), for labels from the fraud desk, which never sees a PAN or the bank's cardId. Exactly one of pan, cardId or cardToken.",
      }),
    ),
    label: stringEnum(['fraud', 'genuine'] as const),
    reportedAt: timestamp('When the fraud (or its absence) was confirmed.'),
    source: Type.Optional(stringEnum(['chargeback', 'customer', 'analyst'] as const)),
  },
  {
    $id: 'https://card-shield.dev/schemas/label.v1.json',
    title: 'Fraud label v1',
    description: 'Topic fraud-labels: confirmed fraud or confirmed genuine, from chargebacks, customers or analysts. Unknown fields are ignored.',
    oneOf: [{ required: ['pan'] }, { required: ['cardId'] }, { required: ['cardToken'] }],
  },
);
export type LabelMessage = Static<typeof LabelV1>;

const Decided = stringEnum(['allow', 'review', 'block'] as const);

/**
 * One line per scored transaction on SCORES_TOPIC (the fraud desk's card timeline, monitoring, the challenger's
 * comparison, and training on the features as served). Additive fields only: consumers ignore what they do not know.
 */
export const DecisionV1 = Type.Object(
  {
    transactionId: Type.String({ description: 'The transaction decided.' }),
    cardToken: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'HMAC-SHA-256 of the PAN (or cardId) under PAN_HMAC_KEY, hex.' }),
    timestamp: timestamp('Event time of the transaction.'),
    score: Type.Number({ minimum: 0, maximum: 1, description: 'Final score of the decision policy.' }),
    action: Decided,
    reasons: Type.Array(Type.String(), { description: 'Reason codes only; the alert has the full reasons.' }),
    modelScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'The champion model’s score, before the policy.' })),
    modelVersion: Type.Optional(Type.String({ description: 'The champion model’s version (with modelScore).' })),
    rulesVersion: Type.String({ description: 'The rule set version in force.' }),
    alertId: Type.Optional(Type.String({ description: 'Set when an alert was published for this decision.' })),
    maskedPan: Type.Optional(Type.String({ pattern: '^[0-9]{6}[*]{2,9}[0-9]{4}$', description: 'First 6 and last 4 digits, when a PAN was given.' })),
    amount: Type.Optional(Type.Number({ description: 'The transaction’s context, as it arrived (amount to channel): the fraud desk’s card timeline.' })),
    currency: Type.Optional(Type.String()),
    merchantId: Type.Optional(Type.String()),
    terminalId: Type.Optional(Type.String()),
    mcc: Type.Optional(Type.String()),
    country: Type.Optional(Type.String()),
    channel: Type.Optional(Type.String()),
    challengerScore: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'With CHALLENGER_MODEL_DIR: the challenger model’s score of the same features. It never decides.' }),
    ),
    challengerVersion: Type.Optional(Type.String({ description: 'The challenger model’s version (with challengerScore).' })),
    features: Type.Optional(
      Type.Record(Type.String(), Type.Number(), {
        description: 'With SCORES_INCLUDE_FEATURES=true: every catalog feature by name, as the models scored it (`npm run train -- --scores` trains on these).',
      }),
    ),
  },
  {
    $id: 'https://card-shield.dev/schemas/decision.v1.json',
    title: 'Decision v1',
    description: 'Topic SCORES_TOPIC (when set): every decision, alerted or not; Kafka key = cardToken. Unknown fields are ignored.',
  },
);
export type DecisionMessage = Static<typeof DecisionV1>;

/** The public schema files, by file name. */
export const PUBLIC_SCHEMAS = {
  'transaction.v1.json': TransactionV1,
  'alert.v1.json': AlertV1,
  'label.v1.json': LabelV1,
  'decision.v1.json': DecisionV1,
} as const;
