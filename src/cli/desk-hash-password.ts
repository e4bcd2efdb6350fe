/**
 * `npm run desk:hash-password -- NAME ROLE`: reads a password on stdin (not the command line, which shells keep in
 * their history) and prints the `name:role:hash` entry for DESK_USERS or DESK_USERS_FILE.
 *
 *   printf '%s' 's3cret' | npm run -s desk:hash-password -- alice analyst
 */
import { hashPassword } from '../desk/users';

async function main(): Promise<void> {
  const [name, role] = process.argv.slice(2);
  if (!name || (role !== 'analyst' && role !== 'viewer')) {
    console.error('usage: npm run desk:hash-password -- NAME analyst|viewer   (password on stdin)');
    process.exit(2);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password.length < 8) {
    console.error('the password must have at least 8 characters');
    process.exit(2);
  }
  console.log(`${name}:${role}:${await hashPassword(password)}`);
}

void main();
