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

/**
 * Bearer JWTs through passport-jwt, pinned to HS256 (so `alg: none` and RS/HS confusion are refused),
 * with `exp` required and `sub`/`role` checked. A passport instance of its own per app (no global state).
 * `afterAuth` runs once the caller is known (the per-user rate limit).
 */
export function createAuth(
  secret: string,
  afterAuth: RequestHandler = (_req, _res, next) => next(),
  options: { cookieName?: string } = {},
): { authenticate: (...roles: Role[]) => RequestHandler[] } {
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
        done(null, { sub, role: role as Role });
      },
    ),
  );
  const verify =
    (roles: Role[]): RequestHandler =>
    (req, res, next) => {
      instance.authenticate('jwt', { session: false }, (err: unknown, caller: Caller | false) => {
        if (err || !caller) return next(new AppError('unauthorized'));
        if (roles.length > 0 && !roles.includes(caller.role)) return next(new AppError('forbidden', `requires role ${roles.join(' or ')}`));
        req.caller = caller;
        next();
      })(req, res, next);
    };
  /** The token check, then `afterAuth` (the per-user rate limit) with the caller known. */
  const authenticate = (...roles: Role[]): RequestHandler[] => [verify(roles), afterAuth];
  return { authenticate };
}
