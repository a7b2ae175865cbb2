import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export const ROLES = ['admin', 'user'] as const;
export type Role = (typeof ROLES)[number];

const keys = new Map<string, KeyObject>();

/**
 * Mints an HS256 token with `sub`, `role` and `exp` (for the token CLI, load drivers and tests). The
 * secret goes to jsonwebtoken as a KeyObject: given a string it first tries to parse a public key, which
 * costs ~0.8 ms per token.
 */
export function signToken(secret: string, claims: { sub: string; role: Role }, ttlSeconds = 3600): string {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  return jwt.sign({ sub: claims.sub, role: claims.role }, key, { algorithm: 'HS256', expiresIn: ttlSeconds });
}
