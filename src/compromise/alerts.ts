/**
 * Findings → v1 alerts (`compromised-point`, `card-at-risk`), pure. Ids are deterministic: a compromised-point alert
 * by (point, window), a card-at-risk alert by (card, point), so a redelivered label or a restarted detector
 * republishes the same ids, and a grown window is a new alert that names the one it supersedes.
 */
import { alertIdFor } from '../alerts/alert';
import type { AlertMessage } from '../contract/schemas';
import { parsePointKey, type Finding, type PointKey } from './store';

/** Travels as rulesVersion: what made the finding (bump when the statistic or its defaults change). */
export const DETECTOR_VERSION = 'compromise-1';

export type { Finding, Shape } from './store';

export function compromisedPointAlertId(point: PointKey, fromMs: number, untilMs: number): string {
  return alertIdFor('compromised-point', point, `${fromMs}/${untilMs}`);
}

export function findingIdFor(point: PointKey, firstFromMs: number): string {
  return alertIdFor('compromised-point', point, `finding/${firstFromMs}`);
}

export function cardAtRiskAlertId(cardToken: string, point: PointKey): string {
  return alertIdFor('card-at-risk', cardToken, point);
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Three significant digits: what the numbers mean, without float noise in every alert. */
const sig3 = (value: number) => Number(value.toPrecision(3));

function roughly(value: number): string {
  if (value >= 10) return String(Math.round(value));
  if (value >= 1) return value.toFixed(1);
  return value.toPrecision(1);
}

function countText(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** "9 of 212 cards seen at terminal t-1 between 2026-01-03 and 2026-01-17 were later defrauded; about 0.4 expected". */
export function findingSentence(finding: Finding): string {
  const { kind, id } = parsePointKey(finding.point);
  const between = `between ${day(finding.fromMs)} and ${day(finding.untilMs)}`;
  const odds = `p = ${finding.pValue.toPrecision(2)}`;
  if (finding.shape === 'fraud-at-point') {
    return `${countText(finding.victims)} of ${finding.visitors} cards that used ${kind} ${id} ${between} were defrauded there and nowhere else; about ${roughly(finding.expected)} expected (${odds})`;
  }
  return `${countText(finding.victims)} of ${finding.visitors} cards seen at ${kind} ${id} ${between} were later defrauded; about ${roughly(finding.expected)} expected (${odds})`;
}

/** 0..1 confidence for the alert's score field: 1 − p, never exactly 1 (so it sorts below certainties). */
function confidence(pValue: number): number {
  return Math.round(Math.min(0.9999, Math.max(0, 1 - pValue)) * 10000) / 10000;
}

function evidenceOf(finding: Finding) {
  return { victims: finding.victims, visitors: finding.visitors, expected: sig3(finding.expected), pValue: sig3(finding.pValue) };
}

export interface PointAlertInput {
  finding: Finding;
  findingId: string;
  revision: number;
  supersedes?: string;
  createdAtMs: number;
}

export function compromisedPointAlert(input: PointAlertInput): AlertMessage {
  const { finding } = input;
  const point = parsePointKey(finding.point);
  const alert: AlertMessage = {
    alertId: compromisedPointAlertId(finding.point, finding.fromMs, finding.untilMs),
    type: 'compromised-point',
    timestamp: new Date(finding.raisedAtMs).toISOString(),
    createdAt: new Date(input.createdAtMs).toISOString(),
    score: confidence(finding.pValue),
    action: 'review',
    reasons: [
      {
        code: finding.shape === 'common-point' ? 'COMMON_POINT_OF_PURCHASE' : 'FRAUD_AT_POINT',
        message: findingSentence(finding),
        value: finding.victims,
        threshold: Math.round(finding.expected * 1000) / 1000,
      },
    ],
    rulesVersion: DETECTOR_VERSION,
    point,
    shape: finding.shape,
    window: { from: new Date(finding.fromMs).toISOString(), until: new Date(finding.untilMs).toISOString() },
    evidence: evidenceOf(finding),
    findingId: input.findingId,
    revision: input.revision,
    ...(input.supersedes !== undefined ? { supersedes: input.supersedes } : {}),
  };
  if (point.kind === 'terminal') alert.terminalId = point.id;
  else alert.merchantId = point.id;
  return alert;
}

export interface CardAtRiskInput {
  cardToken: string;
  finding: Finding;
  findingId: string;
  exposedAtMs: number;
  recommendation: 'reissue' | 'monitor';
  createdAtMs: number;
}

export function cardAtRiskAlert(input: CardAtRiskInput): AlertMessage {
  const { finding } = input;
  const point = parsePointKey(finding.point);
  const alert: AlertMessage = {
    alertId: cardAtRiskAlertId(input.cardToken, finding.point),
    type: 'card-at-risk',
    timestamp: new Date(finding.raisedAtMs).toISOString(),
    createdAt: new Date(input.createdAtMs).toISOString(),
    cardToken: input.cardToken,
    score: confidence(finding.pValue),
    // Reissuing means stopping the card: the alert asks to block; monitoring asks for review of its next use.
    action: input.recommendation === 'reissue' ? 'block' : 'review',
    reasons: [
      {
        code: 'CARD_AT_RISK',
        message: `the card was at ${point.kind} ${point.id} on ${day(input.exposedAtMs)}, inside its estimated breach window; ${findingSentence(finding)}`,
      },
    ],
    rulesVersion: DETECTOR_VERSION,
    point,
    shape: finding.shape,
    window: { from: new Date(finding.fromMs).toISOString(), until: new Date(finding.untilMs).toISOString() },
    evidence: evidenceOf(finding),
    findingId: input.findingId,
    exposedAt: new Date(input.exposedAtMs).toISOString(),
    recommendation: input.recommendation,
  };
  if (point.kind === 'terminal') alert.terminalId = point.id;
  else alert.merchantId = point.id;
  return alert;
}
