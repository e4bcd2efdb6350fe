import { TokenBucket } from '../../../src/sim/output/token-bucket';
import { Random } from '../../../src/sim/random';

/** Sends `total` messages in batches through the bucket on a fake clock whose timers fire late by up to `lateMs`. */
function run(rate: number, batch: number, capacity: number, total: number, lateMs: number, stall?: { atMessage: number; ms: number }) {
  const rng = new Random(5);
  let now = 1_000;
  const bucket = new TokenBucket(rate, capacity, now);
  const sendTimes: number[] = [];
  for (let sent = 0; sent < total; sent += batch) {
    if (stall && sent === stall.atMessage) now += stall.ms;
    const wait = bucket.delayMs(batch, now);
    if (wait > 0) now += wait + rng.uniform(0, lateMs);
    bucket.take(batch, now);
    sendTimes.push(now);
  }
  return { elapsedMs: now - 1_000, sendTimes };
}

describe('TokenBucket', () => {
  it('holds the average rate even when every timer fires late (no drift)', () => {
    const { elapsedMs } = run(1000, 50, 50 + 250, 100_000, 15);
    // 100,000 messages at 1,000/s: 100 s, give or take one batch and one late timer.
    expect(elapsedMs).toBeGreaterThanOrEqual(100_000 - 50);
    expect(elapsedMs).toBeLessThanOrEqual(100_000 + 50 + 15);
  });

  it('loses late time when the capacity leaves no room beyond one batch: why the driver gives it more', () => {
    const { elapsedMs } = run(1000, 50, 50, 100_000, 15);
    expect(elapsedMs).toBeGreaterThan(105_000);
  });

  it('after a stall, bursts at most the capacity, not the whole backlog', () => {
    const { sendTimes } = run(1000, 50, 300, 20_000, 0, { atMessage: 10_000, ms: 30_000 });
    const afterStall = sendTimes.slice(200); // batches from message 10,000 on
    const burstBatches = afterStall.filter((t) => t === afterStall[0]).length;
    expect(burstBatches).toBe(300 / 50);
    // The remaining 10,000 messages still take 10 s, less the capacity released at once.
    expect(sendTimes[sendTimes.length - 1] - afterStall[0]).toBeGreaterThanOrEqual(10_000 - 300 - 50);
  });

  it('refuses a non-positive rate', () => {
    expect(() => new TokenBucket(0, 10, 0)).toThrow(RangeError);
  });
});
