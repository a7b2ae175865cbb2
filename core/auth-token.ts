import jwt from 'jsonwebtoken';

export const ROLES = ['admin', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** Mints an HS256 token with `sub`, `role` and `exp` (for the token CLI, load drivers and tests). */
export function signToken(secret: string, claims: { sub: string; role: Role }, ttlSeconds = 3600): string {
  return jwt.sign({ sub: claims.sub, role: claims.role }, secret, { algorithm: 'HS256', expiresIn: ttlSeconds });
}
