import { createSecretKey } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { ROLES, type Role } from '../../core/auth-token.ts';
import { AppError } from '../../core/errors.ts';

/** The caller, from a verified token. */
export interface Caller {
  readonly sub: string;
  readonly role: Role;
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

/** A bearer token as the Authorization header carries it (`Bearer <token>`), else undefined. */
const BEARER = /^bearer\s+(\S+)$/i;
const bearerOf = (req: Request): string | undefined => {
  const header = req.headers.authorization;
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
};

/**
 * Bearer tokens that passed the full check lately, with their caller and expiry, so a client's next
 * requests with the same token (its polls, its confirm) skip the signature check. Keyed by the whole
 * token string, so a token differing in any byte is checked in full; an entry is used only before the
 * token's `exp`; the oldest entries go first when it is full.
 */
export class VerifiedTokens {
  readonly #entries = new Map<string, { caller: Caller; expMs: number }>();

  constructor(readonly capacity: number) {}

  get(token: string, nowMs = Date.now()): Caller | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.expMs > nowMs) return entry.caller;
    this.#entries.delete(token);
    return undefined;
  }

  set(token: string, caller: Caller, expMs: number): void {
    if (this.capacity === 0) return;
    this.#entries.delete(token);
    while (this.#entries.size >= this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(token, { caller, expMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Bearer JWTs through passport-jwt, pinned to HS256 (so `alg: none` and RS/HS confusion are refused),
 * with `exp` required and `sub`/`role` checked. A passport instance of its own per app (no global state).
 * `afterAuth` runs once the caller is known (the per-user rate limit). A bearer token that passed lately
 * is taken from `VerifiedTokens` (`options.cacheSize` of them; 0: none) until its `exp`.
 */
export function createAuth(
  secret: string,
  afterAuth?: RequestHandler,
  options: { cookieName?: string; cacheSize?: number } = {},
): { authenticate: (...roles: Role[]) => RequestHandler[]; verify: (...roles: Role[]) => RequestHandler } {
  const verified = new VerifiedTokens(options.cacheSize ?? 0);
  const instance = new passport.Passport();
  // The bearer header first; a cookie only where a browser needs one (the admin board).
  const fromCookie = (req: Request): string | null => {
    const cookies = (req as Request & { cookies?: Record<string, unknown> }).cookies;
    const value = options.cookieName ? cookies?.[options.cookieName] : undefined;
    return typeof value === 'string' ? value : null;
  };
  instance.use(
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromExtractors([ExtractJwt.fromAuthHeaderAsBearerToken(), fromCookie]),
        // A KeyObject, not the string: given a string, jsonwebtoken first tries to parse it as a public
        // key and catches the failure, ~0.8 ms per request here; with a KeyObject a check is ~50 µs.
        secretOrKey: createSecretKey(Buffer.from(secret, 'utf8')) as unknown as string,
        algorithms: ['HS256'],
        ignoreExpiration: false,
      },
      (payload: Record<string, unknown>, done: (err: unknown, user?: Caller | false, info?: unknown) => void) => {
        const { sub, role, exp } = payload;
        if (typeof exp !== 'number') return done(null, false, { message: 'the token has no exp claim' });
        if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200) return done(null, false, { message: 'the token has no valid sub claim' });
        if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) return done(null, false, { message: 'the token has no valid role claim' });
        done(null, { sub, role: role as Role }, { expMs: exp * 1000 });
      },
    ),
  );
  const verify =
    (roles: Role[]): RequestHandler =>
    (req, res, next) => {
      const accept = (caller: Caller) => {
        if (roles.length > 0 && !roles.includes(caller.role)) return next(new AppError('forbidden', `requires role ${roles.join(' or ')}`));
        req.caller = caller;
        next();
      };
      const token = bearerOf(req);
      const known = token === undefined ? undefined : verified.get(token);
      if (known) return accept(known);
      instance.authenticate('jwt', { session: false }, (err: unknown, caller: Caller | false, info?: { expMs?: number }) => {
        if (err || !caller) return next(new AppError('unauthorized'));
        // The header's token is the one passport-jwt checked (its bearer extractor comes first).
        if (token !== undefined && info?.expMs !== undefined) verified.set(token, caller, info.expMs);
        accept(caller);
      })(req, res, next);
    };
  /** The token check, then `afterAuth` (the per-user rate limit, when there is one) with the caller known. */
  const authenticate = (...roles: Role[]): RequestHandler[] => (afterAuth ? [verify(roles), afterAuth] : [verify(roles)]);
  /** The token check alone, for a route that runs its own `afterAuth` (the hot path's, in app.ts). */
  return { authenticate, verify: (...roles: Role[]) => verify(roles) };
}
