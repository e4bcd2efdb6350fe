import { deadLetterRecord } from '../../../src/consumer/dead-letter';

const consumed = (value: Buffer) => ({ topic: 'card-transactions', partition: 2, offset: '41', key: 'k', value, headers: { source: 'gw' } }) as never;

describe('dead-letter records of hostile messages', () => {
  it('drops the bytes of a message too deeply nested to redact, instead of throwing (which would crash-loop the consumer)', () => {
    const value = Buffer.from(`{"cvv":"123","amount":${'['.repeat(20000)}${']'.repeat(20000)}}`);
    const record = deadLetterRecord(consumed(value), { code: 'schema', detail: '/amount: must be number' }, 0);
    expect(record.value).toEqual(Buffer.alloc(0));
    expect(record.headers).toMatchObject({ 'dlq-reason': 'schema', 'dlq-redacted': 'true', 'dlq-value-dropped': 'too deeply nested to redact', source: 'gw' });
  });

  it('keeps the bytes of a deep message without sensitive authentication data as they came', () => {
    const value = Buffer.from(`{"amount":${'['.repeat(20000)}${']'.repeat(20000)}}`);
    const record = deadLetterRecord(consumed(value), { code: 'schema', detail: '/amount: must be number' }, 0);
    expect(record.value).toBe(value);
    expect(record.headers).not.toHaveProperty('dlq-redacted');
  });
});
