/**
 * Compromised-point and card-at-risk alerts shaped as compromise detection (on main) publishes them, for the desk's
 * tests and screenshots while that detection is not on this branch. Built over cards and terminals the caller
 * really has, so the pages link to real timelines.
 */
import { createHash } from 'node:crypto';
import type { AlertMessage } from '../../src/contract/schemas';

const id = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

export function exampleCompromiseAlerts(seen: Array<{ cardToken: string; terminalId: string; at: string }>): AlertMessage[] {
  const byTerminal = new Map<string, Array<{ cardToken: string; at: string }>>();
  for (const s of seen) byTerminal.set(s.terminalId, [...(byTerminal.get(s.terminalId) ?? []), s]);
  const points = [...byTerminal.entries()].sort((a, b) => b[1].length - a[1].length).slice(0, 3);
  const alerts: Array<AlertMessage & Record<string, unknown>> = [];
  points.forEach(([terminalId, visits], i) => {
    const times = visits.map((v) => Date.parse(v.at)).sort((a, b) => a - b);
    const from = new Date(times[0] - 86_400_000).toISOString();
    const until = new Date(times[times.length - 1]).toISOString();
    const findingId = id(`finding:${terminalId}`);
    const victims = Math.max(3, Math.round(visits.length / 3));
    const base = {
      type: 'compromised-point' as const,
      timestamp: until,
      createdAt: new Date().toISOString(),
      terminalId,
      action: 'review' as const,
      rulesVersion: 'compromise-example',
      point: { kind: 'terminal' as const, id: terminalId },
      shape: i === 2 ? ('fraud-at-point' as const) : ('common-point' as const),
      window: { from, until },
      findingId,
    };
    // an older revision first: the desk keeps only the newest in the queue
    alerts.push({
      ...base,
      alertId: id(`cp:${terminalId}:1`),
      score: 0.8,
      reasons: [{ code: 'COMMON_POINT', message: `${victims - 1} of ${visits.length + 40} cards seen at terminal ${terminalId} later had fraud (expected 0.6)` }],
      evidence: { victims: victims - 1, visitors: visits.length + 40, expected: 0.6, pValue: 3e-5 },
      revision: 1,
    });
    alerts.push({
      ...base,
      alertId: id(`cp:${terminalId}:2`),
      score: 0.97 - i * 0.04,
      reasons: [{ code: 'COMMON_POINT', message: `${victims} of ${visits.length + 40} cards seen at terminal ${terminalId} later had fraud (expected 0.7)` }],
      evidence: { victims, visitors: visits.length + 40, expected: 0.7, pValue: 2e-7 * (i + 1) },
      revision: 2,
      supersedes: id(`cp:${terminalId}:1`),
    });
    for (const visit of visits.slice(0, 12)) {
      alerts.push({
        alertId: id(`car:${terminalId}:${visit.cardToken}`),
        type: 'card-at-risk',
        timestamp: until,
        createdAt: new Date().toISOString(),
        cardToken: visit.cardToken,
        terminalId,
        score: 0.7,
        action: 'review',
        rulesVersion: 'compromise-example',
        reasons: [{ code: 'EXPOSED_AT_COMPROMISED_POINT', message: `card used at terminal ${terminalId} during its breach window` }],
        point: { kind: 'terminal' as const, id: terminalId },
        findingId,
        exposedAt: visit.at,
        recommendation: i === 0 ? 'reissue' : 'monitor',
      });
    }
  });
  return alerts;
}
