/**
 * Kafka messages → the desk's rows. Pure. Alerts are read defensively: the v1 contract is the floor, and the fields
 * compromise detection adds (point, shape, window, evidence, findingId, revision, exposedAt, recommendation) are
 * copied out only when they have the expected shape; the whole message is kept as JSON whatever it carries.
 * A full PAN never gets here: alerts and decisions carry the card token and at most the masked PAN, and labels are
 * tokenized by the decoder before this module sees them.
 */
import type { CardLabel } from '../contract/transaction';
import { scrubPans } from '../contract/card';

export interface AlertRow {
  alertId: string;
  type: string;
  transactionId: string | null;
  cardToken: string | null;
  maskedPan: string | null;
  score: number;
  action: string;
  reasonCodes: string[];
  eventTime: string;
  createdAt: string;
  pointKind: string | null;
  pointId: string | null;
  findingId: string | null;
  revision: number | null;
  body: string;
}

export interface DecisionRow {
  transactionId: string;
  cardToken: string;
  maskedPan: string | null;
  eventTime: string;
  amount: number | null;
  currency: string | null;
  merchantId: string | null;
  terminalId: string | null;
  mcc: string | null;
  country: string | null;
  channel: string | null;
  score: number;
  modelScore: number | null;
  action: string;
  reasonCodes: string[];
  rulesVersion: string | null;
  alertId: string | null;
}

export interface LabelRow {
  transactionId: string;
  cardToken: string;
  label: 'fraud' | 'genuine';
  source: string | null;
  reportedAt: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const time = (v: unknown): string | null => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : null);
const TOKEN = /^[0-9a-f]{64}$/;
const MASKED = /^[0-9]{6}[*]{2,9}[0-9]{4}$/;

/** Reason codes of an alert or decision: `{ code }` objects (alerts) or plain strings (the scores topic). */
export function reasonCodes(reasons: unknown): string[] {
  if (!Array.isArray(reasons)) return [];
  const codes = reasons.map((r) => (typeof r === 'string' ? r : isObject(r) ? str(r.code) : null)).filter((c): c is string => c !== null);
  return [...new Set(codes)];
}

/** An alert message as the desk stores it, or a reason why it cannot be stored (the consumer logs and skips it). */
export function alertRow(message: unknown): AlertRow | { invalid: string } {
  if (!isObject(message)) return { invalid: 'not an object' };
  const alertId = str(message.alertId);
  const type = str(message.type);
  const eventTime = time(message.timestamp);
  const score = num(message.score);
  if (!alertId || !type || !eventTime || score === null) return { invalid: 'alertId, type, timestamp and score are required' };
  const point = isObject(message.point) ? message.point : undefined;
  const cardToken = str(message.cardToken);
  const maskedPan = str(message.maskedPan);
  return {
    alertId,
    type,
    transactionId: str(message.transactionId),
    cardToken: cardToken && TOKEN.test(cardToken) ? cardToken : null,
    // anything that is not the masked form is dropped rather than stored: the table must never hold a PAN
    maskedPan: maskedPan && MASKED.test(maskedPan) ? maskedPan : null,
    score,
    action: str(message.action) ?? 'review',
    reasonCodes: reasonCodes(message.reasons),
    eventTime,
    createdAt: time(message.createdAt) ?? eventTime,
    pointKind: point ? str(point.kind) : null,
    pointId: point ? str(point.id) : type === 'compromised-point' ? (str(message.terminalId) ?? str(message.merchantId)) : null,
    findingId: str(message.findingId),
    revision: num(message.revision),
    body: safeBody(message),
  };
}

/**
 * A producer that put a PAN into an alert by mistake (a `pan` field, an unmasked `maskedPan`, a number in a
 * reason's text) must not make the desk keep it: the field goes, and every Luhn-valid 12-19 digit run left in the
 * stored JSON is masked, as the logger does with free text.
 */
function safeBody(message: Json): string {
  const { pan: _pan, ...rest } = message;
  if (typeof rest.maskedPan === 'string' && !MASKED.test(rest.maskedPan)) delete rest.maskedPan;
  // Value by value, not over the serialized text: the digits of a number (a p-value's 0.000009455946498769965) are
  // no PAN, and masking them there broke the JSON. A whole number of 12-19 digits that passes Luhn is masked as text.
  return JSON.stringify(rest, (_key, value: unknown) => {
    if (typeof value === 'string') return scrubPans(value);
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1e11) {
      const masked = scrubPans(String(value));
      return masked === String(value) ? value : masked;
    }
    return value;
  });
}

/** A line of the scores topic (src/alerts/sinks.ts DecisionRecord). */
export function decisionRow(message: unknown): DecisionRow | { invalid: string } {
  if (!isObject(message)) return { invalid: 'not an object' };
  const transactionId = str(message.transactionId);
  const cardToken = str(message.cardToken);
  const eventTime = time(message.timestamp);
  const score = num(message.score);
  if (!transactionId || !cardToken || !eventTime || score === null) return { invalid: 'transactionId, cardToken, timestamp and score are required' };
  const maskedPan = str(message.maskedPan);
  return {
    transactionId,
    cardToken,
    maskedPan: maskedPan && MASKED.test(maskedPan) ? maskedPan : null,
    eventTime,
    amount: num(message.amount),
    currency: str(message.currency),
    merchantId: str(message.merchantId),
    terminalId: str(message.terminalId),
    mcc: str(message.mcc),
    country: str(message.country),
    channel: str(message.channel),
    score,
    modelScore: num(message.modelScore),
    action: str(message.action) ?? 'allow',
    reasonCodes: reasonCodes(message.reasons),
    rulesVersion: str(message.rulesVersion),
    alertId: str(message.alertId),
  };
}

export function labelRow(label: CardLabel): LabelRow {
  return {
    transactionId: label.transactionId,
    cardToken: label.cardToken,
    label: label.label,
    source: label.source ?? null,
    reportedAt: new Date(label.reportedAtMs).toISOString(),
  };
}

/** The compromise fields of a stored alert body, each present only with the shape the desk expects. */
export interface CompromiseDetails {
  point?: { kind: string; id: string };
  shape?: string;
  window?: { from: string; until: string };
  evidence?: { victims?: number; visitors?: number; expected?: number; pValue?: number };
  findingId?: string;
  revision?: number;
  supersedes?: string;
  exposedAt?: string;
  recommendation?: string;
}

export function compromiseDetails(body: unknown): CompromiseDetails {
  if (!isObject(body)) return {};
  const out: CompromiseDetails = {};
  if (isObject(body.point) && str(body.point.kind) && str(body.point.id)) out.point = { kind: str(body.point.kind)!, id: str(body.point.id)! };
  if (str(body.shape)) out.shape = str(body.shape)!;
  if (isObject(body.window) && time(body.window.from) && time(body.window.until)) out.window = { from: time(body.window.from)!, until: time(body.window.until)! };
  if (isObject(body.evidence)) {
    const e = body.evidence;
    out.evidence = {};
    for (const key of ['victims', 'visitors', 'expected', 'pValue'] as const) {
      const value = num(e[key]);
      if (value !== null) out.evidence[key] = value;
    }
  }
  if (str(body.findingId)) out.findingId = str(body.findingId)!;
  if (num(body.revision) !== null) out.revision = num(body.revision)!;
  if (str(body.supersedes)) out.supersedes = str(body.supersedes)!;
  if (time(body.exposedAt)) out.exposedAt = time(body.exposedAt)!;
  if (str(body.recommendation)) out.recommendation = str(body.recommendation)!;
  return out;
}

/** An alert's reasons as words: `{ code, message }` (v1) or `{ code, text }`, whichever the producer sent. */
export function reasonTexts(body: unknown): Array<{ code: string; text: string }> {
  if (!isObject(body) || !Array.isArray(body.reasons)) return [];
  return body.reasons
    .filter(isObject)
    .map((r) => ({ code: str(r.code) ?? '?', text: str(r.message) ?? str(r.text) ?? '' }));
}
