import { alertRow, compromiseDetails, decisionRow, reasonCodes, reasonTexts } from '../../../src/desk/records';

const TOKEN = 'c'.repeat(64);
const base = { alertId: 'a1', type: 'transaction', timestamp: '2026-01-10T10:00:00+05:00', score: 0.7, action: 'review', reasons: [] };

describe('desk records', () => {
  it('reads the compromise fields of an alert when they have the expected shape, and keeps the whole message', () => {
    const row = alertRow({
      ...base,
      type: 'compromised-point',
      point: { kind: 'terminal', id: 't-1' },
      findingId: 'f-9',
      revision: 3,
      somethingNew: [1, 2],
    });
    if ('invalid' in row) throw new Error(row.invalid);
    expect([row.pointKind, row.pointId, row.findingId, row.revision]).toEqual(['terminal', 't-1', 'f-9', 3]);
    expect(JSON.parse(row.body).somethingNew).toEqual([1, 2]);
  });

  it('ignores compromise fields of the wrong shape instead of failing the batch', () => {
    const row = alertRow({ ...base, point: 'terminal t-1', findingId: 7, revision: 'two' });
    if ('invalid' in row) throw new Error(row.invalid);
    expect([row.pointKind, row.pointId, row.findingId, row.revision]).toEqual([null, null, null, null]);
    expect(compromiseDetails({ window: { from: 'yesterday', until: 3 }, evidence: { victims: '5', pValue: 0.001 } })).toEqual({ evidence: { pValue: 0.001 } });
  });

  it('never stores a PAN: a pan field is dropped and a maskedPan that is not masked is refused', () => {
    const row = alertRow({ ...base, pan: '4000000000000002', maskedPan: '4000000000000002', cardToken: TOKEN, reasons: [{ code: 'X', message: 'card 4000000000000002 again' }] });
    if ('invalid' in row) throw new Error(row.invalid);
    expect(row.body).not.toContain('4000000000000002');
    expect(row.body).toContain('card 400000******0002 again');
    expect(row.maskedPan).toBeNull();
    expect(row.cardToken).toBe(TOKEN);
    const masked = alertRow({ ...base, maskedPan: '400000******0002' });
    expect('invalid' in masked ? undefined : masked.maskedPan).toBe('400000******0002');
    const decision = decisionRow({ transactionId: 't', cardToken: TOKEN, timestamp: base.timestamp, score: 0.1, maskedPan: '4000000000000002' });
    expect('invalid' in decision ? undefined : decision.maskedPan).toBeNull();
  });

  it('rejects messages without their identity, time or score', () => {
    expect(alertRow('not json')).toEqual({ invalid: 'not an object' });
    expect(alertRow({ ...base, timestamp: 'soon' })).toHaveProperty('invalid');
    expect(decisionRow({ transactionId: 't', timestamp: base.timestamp, score: 0.1 })).toHaveProperty('invalid');
  });

  it('reads reason codes from objects or strings and reason words from message or text', () => {
    expect(reasonCodes([{ code: 'A' }, 'B', { code: 'A' }, { nope: 1 }, 3])).toEqual(['A', 'B']);
    expect(reasonTexts({ reasons: [{ code: 'A', message: 'seven in ten minutes' }, { code: 'B', text: 'seen at a breached terminal' }] })).toEqual([
      { code: 'A', text: 'seven in ten minutes' },
      { code: 'B', text: 'seen at a breached terminal' },
    ]);
  });
});
