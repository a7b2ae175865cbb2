/**
 * Prints a JWT for local use:  npm run token -- --role=admin --sub=admin-1 [--ttl=3600]
 * Signed with JWT_SECRET (the development default when it is unset and NODE_ENV is not production).
 */
import { parseArgs } from 'node:util';
import { ROLES, signToken, type Role } from '../core/auth-token.ts';
import { loadConfig } from '../core/config.ts';

const { values } = parseArgs({
  options: { role: { type: 'string', default: 'user' }, sub: { type: 'string' }, ttl: { type: 'string', default: '3600' } },
});
const role = values.role as Role;
const ttl = Number(values.ttl);
if (!(ROLES as readonly string[]).includes(role) || !Number.isInteger(ttl) || ttl < 1) {
  process.stderr.write('usage: npm run token -- --role=admin|user [--sub=ID] [--ttl=SECONDS]\n');
  process.exit(2);
}
const config = loadConfig();
process.stdout.write(`${signToken(config.jwtSecret, { sub: values.sub ?? `${role}-1`, role }, ttl)}\n`);
