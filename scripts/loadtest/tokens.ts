import { signToken } from '../../core/auth-token.ts';

/** The `sub` of the driver's i-th user (the same in `--write-tokens` files, so k6 runs and NDJSON agree). */
export const userSub = (index: number): string => `loadtest-user-${index}`;

/** One token per user, minted up front (signing costs tens of microseconds; never per request). */
export function mintUserTokens(secret: string, users: number, ttlS: number): string[] {
  const tokens = new Array<string>(users);
  for (let i = 0; i < users; i++) tokens[i] = signToken(secret, { sub: userSub(i), role: 'user' }, ttlS);
  return tokens;
}

/** Hands out the users' tokens round-robin: request k goes to user k mod users. */
export class TokenRotation {
  private nextIndex = 0;

  constructor(private readonly tokens: readonly string[]) {
    if (tokens.length === 0) throw new Error('TokenRotation needs at least one token');
  }

  next(): { user: number; token: string } {
    const user = this.nextIndex;
    this.nextIndex = (this.nextIndex + 1) % this.tokens.length;
    return { user, token: this.tokens[user]! };
  }
}
