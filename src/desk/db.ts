/**
 * The desk's one database seam: a real PostgreSQL through `pg` (production, DESK_DATABASE_URL) or PGlite,
 * PostgreSQL compiled to WebAssembly and run in-process (the embedded mode and the demo). Both speak the same SQL,
 * so the repository and its tests do not know which one they have.
 */
import { Pool, type PoolClient } from 'pg';
import { PGlite } from '@electric-sql/pglite';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Several statements in one string, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  url: string;
  /** Tests isolate themselves in a schema of their own. */
  searchPath?: string;
  max?: number;
}

export function connectPostgres(options: PostgresOptions): Db {
  const pool = new Pool({
    connectionString: options.url,
    max: options.max ?? 4,
    ...(options.searchPath ? { options: `-c search_path=${options.searchPath}` } : {}),
  });
  // An idle client's error (the server restarted) must not crash the process: the next query reconnects.
  pool.on('error', () => undefined);
  const on = (client: Pool | PoolClient): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await client.query(sql, params)).rows as T[];
    },
  });
  return {
    kind: 'postgres',
    ...on(pool),
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(on(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** PGlite in memory (`dataDir` unset) or in a directory of its own. */
export async function openPglite(dataDir?: string): Promise<Db> {
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  return {
    kind: 'pglite',
    async query<T>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql) {
      await db.exec(sql);
    },
    transaction: (work) =>
      db.transaction(async (tx) =>
        work({
          async query<T>(sql: string, params?: unknown[]) {
            return (await tx.query<T>(sql, params)).rows;
          },
        }),
      ),
    close: () => db.close(),
  };
}
