/**
 * The embedded mode as the demo and a rule author use it: no Kafka, no Redis, transactions and labels POSTed to
 * the service's HTTP API, scored by the same pipeline, invalid messages answered with their reasons.
 */
import { startService, type RunningService } from '../../../src/service';
import { createLogger } from '../../../src/telemetry/logger';
import { TEST_HMAC_KEY } from '../../support/service';
import { cardStream, testPan, testToken, transaction } from '../../support/traffic';

describe('the embedded mode over HTTP', () => {
  let service: RunningService;
  let base: string;
  const post = async (path: string, lines: unknown[]) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    service = await startService({ env: {}, overrides: { panHmacKey: TEST_HMAC_KEY, httpPort: 0, logLevel: 'warn' }, logger: createLogger({ level: 'warn' }) });
    base = `http://127.0.0.1:${service.port}`;
  });
  afterAll(() => service?.stop());

  it('runs in the embedded mode', () => {
    expect(service.mode).toBe('embedded');
  });

  it('scores each valid transaction, answers the invalid ones with their reasons, and knows a redelivery', async () => {
    const start = Date.now() - 3600_000;
    const stream = cardStream(1, 3, start, 60_000, 'emb');
    const { status, body } = await post('/v1/transactions', [...stream, '{"transactionId": 7', { ...transaction(2, 'emb-bad', start), amount: -5 }]);
    expect(status).toBe(200);
    const decisions = body.decisions as Array<{ transactionId: string; cardToken: string; action: string; duplicate: boolean }>;
    expect(decisions.map((d) => d.transactionId)).toEqual(stream.map((t) => t.transactionId));
    expect(decisions.every((d) => d.cardToken === testToken(1) && d.duplicate === false)).toBe(true);
    const rejected = body.rejected as Array<{ index: number; reason: string; errors: string }>;
    expect(rejected.map((r) => [r.index, r.reason])).toEqual([
      [3, 'invalid_json'],
      [4, 'schema'],
    ]);
    expect(rejected[1].errors).toContain('/amount');
    expect(JSON.stringify(body)).not.toContain(testPan(1));

    // A redelivery (the same ids again) leaves the state as it was and says so.
    const again = await post('/v1/transactions', stream);
    expect((again.body.decisions as Array<{ duplicate: boolean }>).every((d) => d.duplicate)).toBe(true);
  });

  it('records labels once, says which transactions it has not seen, and answers a body that is not messages with 400', async () => {
    const reportedAt = new Date().toISOString();
    const label = { transactionId: 'emb-1-0', pan: testPan(1), label: 'fraud', reportedAt, source: 'chargeback' };
    const { status, body } = await post('/v1/labels', [label, { ...label, transactionId: 'emb-never-seen' }, { ...label, label: 'maybe' }]);
    expect(status).toBe(200);
    expect(body.labels).toEqual([
      { transactionId: 'emb-1-0', outcome: 'applied' },
      { transactionId: 'emb-never-seen', outcome: 'unknown_transaction' },
    ]);
    expect((body.rejected as Array<{ index: number; reason: string }>).map((r) => [r.index, r.reason])).toEqual([[2, 'schema']]);
    const again = await post('/v1/labels', [label]);
    expect(again.body.labels).toEqual([{ transactionId: 'emb-1-0', outcome: 'duplicate' }]);
    expect(JSON.stringify(body)).not.toContain(testPan(1));

    const notMessages = await fetch(`${base}/v1/transactions`, { method: 'POST', body: '[not json' });
    expect(notMessages.status).toBe(400);
  });
});
