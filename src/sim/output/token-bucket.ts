/**
 * Steady output rate. Tokens accrue from the clock's elapsed time, not from how long each wait turned out to be, so
 * a late timer never makes the rate drift as long as the capacity holds what accrues meanwhile: give it room for a
 * batch plus the worst timer lateness expected. The capacity also bounds the burst after a stall (a slow broker).
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
    nowMs: number,
  ) {
    if (!(perSecond > 0)) throw new RangeError('rate must be positive');
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
    this.tokens = 0;
    this.lastMs = nowMs;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.lastMs) * this.perSecond) / 1000);
      this.lastMs = nowMs;
    }
  }

  /** Milliseconds to wait before `count` tokens (at most the capacity) are available; 0 when they already are. */
  delayMs(count: number, nowMs: number): number {
    this.refill(nowMs);
    const missing = Math.min(count, this.capacity) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.perSecond);
  }

  /** Spends `count` tokens; the balance may go negative, which later waits pay back. */
  take(count: number, nowMs: number): void {
    this.refill(nowMs);
    this.tokens -= count;
  }
}
