import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

const CHUNK_BYTES = 1 << 20;

/**
 * Lines to a file, encoded straight into 1 MiB chunks (no joining of strings). `writeLine` returns a promise only
 * when the file asks the producer to wait (backpressure), so a loop over millions of lines awaits a few hundred
 * times, not millions.
 */
export class NdjsonFileWriter {
  private readonly stream: WriteStream;
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
    // Remember the error and raise it at the next write or close: an unhandled 'error' event would kill the process
    // without telling which file failed.
    this.stream.on('error', (error) => (this.failure ??= error));
  }

  writeLine(line: string): Promise<void> | undefined {
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit, plus the newline.
    const worstCase = line.length * 3 + 1;
    let wait: Promise<void> | undefined;
    if (this.used + worstCase > this.chunk.length) {
      wait = this.flush();
      if (worstCase > this.chunk.length) this.chunk = Buffer.allocUnsafe(worstCase);
    }
    this.used += this.chunk.write(line, this.used);
    this.chunk[this.used++] = 0x0a;
    return wait;
  }

  flush(): Promise<void> | undefined {
    this.throwIfFailed();
    if (this.used === 0) return undefined;
    const ready = this.stream.write(this.chunk.subarray(0, this.used));
    // The stream keeps the written chunk until it reaches the file: never reuse it.
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    return ready ? undefined : this.drained();
  }

  private async drained(): Promise<void> {
    await once(this.stream, 'drain');
    this.throwIfFailed();
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    if (!this.stream.closed) await once(this.stream, 'close');
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw new Error(`writing ${this.path} failed: ${this.failure.message}`, { cause: this.failure });
  }
}
