/**
 * Socket writes to Redis and round trips, counted from the client's side (the state tests and bench:state): a round
 * trip is a wait for a reply before writing more, so a batch whose writes all precede its first reply is one, and each
 * write after a reply starts another.
 */
import type { Cluster, Redis } from 'ioredis';

export interface SocketWrites {
  readonly count: number;
  /** Writes made before the first reply arrived (undefined while none has). */
  readonly beforeFirstReply: number | undefined;
  readonly roundTrips: number;
  /** The next write starts a round trip (call between batches). */
  nextBatch(): void;
  restore(): void;
}

/** The clients of every master (a single server: itself). */
export function masters(redis: Redis | Cluster): Redis[] {
  return (redis as Cluster).isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
}

/** Counts from now on, on every master's socket. */
export async function countSocketWrites(redis: Redis | Cluster): Promise<SocketWrites> {
  await redis.ping(); // connected: every master has its socket
  const restores: Array<() => void> = [];
  let count = 0;
  let beforeFirstReply: number | undefined;
  let roundTrips = 0;
  let waiting = true; // a reply arrived since the last write: the next write starts a round trip
  for (const node of masters(redis)) {
    await node.ping();
    const stream = (node as unknown as { stream: NodeJS.EventEmitter & { write: (...args: unknown[]) => boolean } }).stream;
    const original = stream.write;
    stream.write = function (this: unknown, ...args: unknown[]) {
      count++;
      if (waiting) roundTrips++;
      waiting = false;
      return original.apply(this, args);
    };
    const onData = () => {
      if (beforeFirstReply === undefined && count > 0) beforeFirstReply = count;
      waiting = true;
    };
    stream.prependListener('data', onData);
    restores.push(() => {
      stream.write = original;
      stream.removeListener('data', onData);
    });
  }
  return {
    get count() {
      return count;
    },
    get beforeFirstReply() {
      return beforeFirstReply;
    },
    get roundTrips() {
      return roundTrips;
    },
    nextBatch: () => void (waiting = true),
    restore: () => restores.forEach((restore) => restore()),
  };
}
