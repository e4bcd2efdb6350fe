/**
 * Desk users and their passwords: `name:role:hash` entries from DESK_USERS or DESK_USERS_FILE, the hash an scrypt
 * string `scrypt$N$r$p$salt$key` (base64). Only hashes are ever configured; a password exists in memory only while
 * a sign-in is checked.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ConfigError } from '../errors';

export type Role = 'viewer' | 'analyst';
export interface DeskUser {
  name: string;
  role: Role;
  hash: string;
}

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCallback(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key))));

// N = 2^15, r = 8: about 32 MiB and tens of milliseconds per check, OWASP's scrypt floor
const DEFAULTS = { N: 32768, r: 8, p: 1 };
const HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export async function hashPassword(password: string, params = DEFAULTS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r * 2 });
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = HASH.exec(hash);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5], 'base64');
  const key = await scrypt(password, Buffer.from(m[4], 'base64'), expected.length, { N, r, p, maxmem: 128 * N * r * 2 });
  return timingSafeEqual(key, expected);
}

/** Parses `name:role:hash` entries (comma- or newline-separated; `#` starts a comment line). */
export function parseUsers(text: string, variable: string): DeskUser[] {
  const users: DeskUser[] = [];
  const entries = text
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  for (const entry of entries) {
    const [name, role, hash, ...rest] = entry.split(':');
    if (rest.length > 0 || !name || !hash) throw new ConfigError(variable, `entry "${name ?? ''}:…" must be name:role:hash`);
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new ConfigError(variable, `user name "${name}" must be 1-64 letters, digits, . _ @ or -`);
    if (role !== 'viewer' && role !== 'analyst') throw new ConfigError(variable, `user ${name}: role "${role}" must be viewer or analyst`);
    if (!HASH.test(hash)) throw new ConfigError(variable, `user ${name}: hash must be scrypt$N$r$p$salt$key (npm run desk:hash-password)`);
    if (users.some((u) => u.name === name)) throw new ConfigError(variable, `user ${name} is listed twice`);
    users.push({ name, role, hash });
  }
  return users;
}
