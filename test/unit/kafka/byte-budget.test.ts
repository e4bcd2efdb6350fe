import { byteBudget } from '../../../src/kafka/client';

describe('splitting a produce into requests the broker accepts', () => {
  const message = (id: number, bytes: number) => ({ key: `k${id}`, value: Buffer.alloc(bytes) });

  it('keeps every message, in order, in parts of at most the budget (a larger message alone)', () => {
    const messages = [message(1, 400), message(2, 400), message(3, 300), message(4, 2000), message(5, 10)];
    const parts = byteBudget(messages, 1000);
    expect(parts.map((p) => p.map((m) => m.key))).toEqual([['k1', 'k2'], ['k3'], ['k4'], ['k5']]);
    expect(parts.flat()).toEqual(messages);
  });

  it('sends a small batch as one request', () => {
    expect(byteBudget([message(1, 10), message(2, 10)], 1000)).toHaveLength(1);
  });
});
