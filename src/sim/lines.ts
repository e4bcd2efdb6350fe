/**
 * The NDJSON lines of the three output files. Wire messages are written as they are; the truth file (for
 * evaluation only, never for the service) says which transactions are fraud, which cards were exposed where, and
 * which points were breached or fraudulent.
 */
import type { TransactionMessage } from '../contract/schemas';
import { HOME_OFFSET_MINUTES, formatLocalTimestamp } from './geo';
import type { CompromisedPoint, SimEvent, TransactionEvent } from './simulator';

export function wireLine(event: SimEvent): string {
  return event.kind === 'transaction' ? transactionLine(event.message) : JSON.stringify(event.message);
}

/**
 * `JSON.stringify(message)`, byte for byte, in a fraction of its time: the benchmark's 10 M lines spend most of
 * their cost here. Valid only for the simulator's own messages, whose strings come from its tables and formats and
 * never hold a quote, a backslash or a control character; a unit test compares it with JSON.stringify on a run.
 */
export function transactionLine(m: TransactionMessage): string {
  let line = `{"transactionId":"${m.transactionId}","timestamp":"${m.timestamp}","pan":"${m.pan}","amount":${m.amount},"currency":"${m.currency}","accountId":"${m.accountId}","merchantId":"${m.merchantId}"`;
  if (m.terminalId !== undefined) line += `,"terminalId":"${m.terminalId}"`;
  line += `,"mcc":"${m.mcc}","country":"${m.country}"`;
  if (m.city !== undefined) line += `,"city":"${m.city}","latitude":${m.latitude},"longitude":${m.longitude}`;
  line += `,"channel":"${m.channel}","entryMode":"${m.entryMode}","cardPresent":${m.cardPresent},"approved":${m.approved}`;
  if (m.deviceId !== undefined) line += `,"deviceId":"${m.deviceId}","ip":"${m.ip}"`;
  return `${line}}`;
}

export function pointTruthLine(point: CompromisedPoint): string {
  return JSON.stringify({
    type: 'point',
    pointId: point.pointId,
    scenario: point.scenario,
    kind: point.kind,
    merchantId: point.merchantId,
    terminalId: point.terminalId,
    city: point.city,
    country: point.country,
    from: formatLocalTimestamp(point.fromMs, HOME_OFFSET_MINUTES),
    until: formatLocalTimestamp(point.untilMs, HOME_OFFSET_MINUTES),
  });
}

/** Truth lines of one transaction: a `fraud` line for fraud, an `exposure` line where a breached point stole the card. */
export function transactionTruthLines(event: TransactionEvent): string[] {
  const lines: string[] = [];
  if (event.truth !== undefined) {
    lines.push(
      JSON.stringify({
        type: 'fraud',
        transactionId: event.message.transactionId,
        cardRef: event.cardRef,
        scenario: event.truth.scenario,
        caseId: event.truth.caseId,
        pointId: event.truth.pointId,
      }),
    );
  }
  if (event.exposedTo !== undefined) {
    lines.push(JSON.stringify({ type: 'exposure', transactionId: event.message.transactionId, cardRef: event.cardRef, pointId: event.exposedTo }));
  }
  return lines;
}
