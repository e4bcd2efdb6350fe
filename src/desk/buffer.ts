/**
 * The embedded mode's hand-off from the scorer to the desk: the in-process sinks append to a buffer and return,
 * and one background loop writes it to PGlite in batches, so scoring does not wait on the desk's writes (as in the
 * Kafka mode, where the topics are the buffer). Bounded: past `maxRows` waiting, `push` waits for the writer
 * (back-pressure instead of unbounded memory).
 */
export class WriteBehind<T> {
  private rows: T[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly write: (rows: T[]) => Promise<unknown>,
    private readonly batchSize: number,
    private readonly maxRows: number,
    private readonly onError: (error: Error) => void,
  ) {}

  async push(rows: readonly T[]): Promise<void> {
    if (rows.length === 0) return;
    for (const row of rows) this.rows.push(row);
    this.running ??= this.loop();
    if (this.rows.length > this.maxRows) await this.flush();
  }

  /** Resolves when everything pushed so far is written (tests, shutdown, the demo's end). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    try {
      while (this.rows.length > 0) {
        const batch = this.rows.splice(0, this.batchSize);
        try {
          await this.write(batch);
        } catch (error) {
          // the embedded desk is a view of one process: a failed write is logged, not retried forever
          this.onError(error as Error);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
