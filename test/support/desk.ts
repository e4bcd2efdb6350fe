/**
 * The desk's databases for tests: a real PostgreSQL (DESK_TEST_DATABASE_URL, default the machine's own at
 * 127.0.0.1:5432, database test) in a schema of the test's own, and PGlite in memory. The repository tests run the
 * same cases against both.
 */
import { Pool } from 'pg';
import { connectPostgres, openPglite, type Db } from '../../src/desk/db';
import type { Telemetry } from '../../src/telemetry/events';
import { uniqueName } from './env';

export const TEST_DATABASE_URL = process.env.DESK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  db: Db;
  /** A connection string that lands in the same schema (for a service started with DESK_DATABASE_URL). */
  url?: string;
  drop(): Promise<void>;
}

export async function postgresSchema(prefix: string): Promise<TestDatabase> {
  const schema = uniqueName(prefix).replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  const admin = new Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = connectPostgres({ url: TEST_DATABASE_URL, searchPath: schema });
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

export async function pgliteDatabase(): Promise<TestDatabase> {
  const db = await openPglite();
  return { db, drop: () => db.close() };
}

export const DATABASES: Array<[string, (prefix: string) => Promise<TestDatabase>]> = [
  ['PostgreSQL', postgresSchema],
  ['PGlite', () => pgliteDatabase()],
];

/** Resolves once `check()` holds, re-checked after every batch the desk writes; rejects after `timeoutMs`. */
export function waitForDesk(telemetry: Telemetry, check: () => Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off();
      if (error) reject(error);
      else resolve();
    };
    const attempt = () =>
      void check().then(
        (ok) => ok && finish(),
        (error: Error) => finish(error),
      );
    const off = telemetry.on('desk.written', attempt);
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what} in the desk`)), timeoutMs);
    attempt();
  });
}
