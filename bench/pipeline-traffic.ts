/** The simulated bank of `npm run bench` (bench/pipeline.ts) and of its load generator (bench/load-generator.ts). */
import { createSimulation } from '../src/sim';
import type { TransactionMessage } from '../src/contract/schemas';

export interface KeyedMessage {
  key: string;
  value: string;
}

/** The simulated bank of phases (a) and (b); phase (c) grows it with the offered rate (customersAtRate). */
export const CUSTOMERS = 20_000;
export const DAY_MS = 86_400_000;

/**
 * Customers of the bank whose traffic phase (c) offers at `rate`: 20 per transaction per second, 20,000 at 1,000 tx/s.
 * Phase (c) replays the simulation from its start with event time = send time, so a fixed population would squeeze
 * more of each card's weeks into the run the higher the rate: at 5,000 tx/s each card made about four transactions
 * in 17 s, velocity rules fired on one in six, and the run measured alert handling rather than a bank's steady state.
 * A bank that sees five times the traffic has about five times the cards.
 */
export function customersAtRate(rate: number): number {
  return Math.max(CUSTOMERS, Math.round(rate * 20));
}

export function simulatedMessages(count: number, customers = CUSTOMERS): KeyedMessage[] {
  const out: KeyedMessage[] = [];
  for (const event of createSimulation({ seed: 11, customers, days: 60, maxTransactions: count })) {
    if (event.kind === 'transaction') out.push({ key: event.cardRef, value: JSON.stringify(event.message) });
    if (out.length >= count) break;
  }
  return out;
}

/**
 * A simulated message sent again as a new transaction at `eventMs`, keyed by its own card. The timestamp keeps the
 * milliseconds (phase (c) measures latency from it), in the simulator's +05:00.
 */
export function restamped(template: KeyedMessage, transactionId: string, eventMs: number): KeyedMessage {
  const message = { ...(JSON.parse(template.value) as TransactionMessage), transactionId, timestamp: new Date(eventMs + 5 * 3600_000).toISOString().replace('Z', '+05:00') };
  return { key: template.key, value: JSON.stringify(message) };
}
