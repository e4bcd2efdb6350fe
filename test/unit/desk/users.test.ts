import { hashPassword, parseUsers, verifyPassword } from '../../../src/desk/users';
import { loadConfig } from '../../../src/config/load';

const FAST = { N: 1024, r: 8, p: 1 };

describe('desk users', () => {
  it('verifies the password a hash was made from and nothing else', async () => {
    const hash = await hashPassword('correct horse', FAST);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horse ', hash)).toBe(false);
    expect(await verifyPassword('correct horse', 'plain-text')).toBe(false);
    expect(await hashPassword('correct horse', FAST)).not.toBe(hash);
  });

  it('parses name:role:hash entries, comments and both separators', async () => {
    const hash = await hashPassword('x', FAST);
    expect(parseUsers(`# the team\nalice:analyst:${hash}\n bob:viewer:${hash}, carol:analyst:${hash}`, 'DESK_USERS').map((u) => [u.name, u.role])).toEqual([
      ['alice', 'analyst'],
      ['bob', 'viewer'],
      ['carol', 'analyst'],
    ]);
  });

  it('names the variable in a one-line error for a bad entry', async () => {
    const hash = await hashPassword('x', FAST);
    expect(() => parseUsers(`alice:admin:${hash}`, 'DESK_USERS_FILE')).toThrow('DESK_USERS_FILE: user alice: role "admin" must be viewer or analyst');
    expect(() => parseUsers('alice:analyst:secret', 'DESK_USERS')).toThrow(/^DESK_USERS: user alice: hash must be scrypt/);
    expect(() => parseUsers(`alice:analyst:${hash},alice:viewer:${hash}`, 'DESK_USERS')).toThrow('DESK_USERS: user alice is listed twice');
    expect(() => loadConfig({ DESK_USERS: 'alice' })).toThrow('DESK_USERS: entry "alice:…" must be name:role:hash');
    expect(() => loadConfig({ DESK_DATABASE_URL: 'mysql://x/y' })).toThrow('DESK_DATABASE_URL: scheme must be postgres: or postgresql:');
  });

  it('requires users when the desk runs outside the embedded mode', () => {
    const env = { KAFKA_BROKERS: 'k:9092', REDIS_URL: 'redis://r:6379', PAN_HMAC_KEY: 'x'.repeat(32), DESK_DATABASE_URL: 'postgres://db/desk' };
    expect(() => loadConfig(env)).toThrow(/^DESK_USERS: is required with DESK_DATABASE_URL/);
    expect(loadConfig({ ...env, DESK_USERS_FILE: '/etc/desk/users' }).deskUsersFile).toBe('/etc/desk/users');
  });
});
