import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { idempotencyKey } from './keys.ts';
import { Scripts } from './redis.ts';

/**
 * Idempotency keys (the `Idempotency-Key` header), scoped to (user, route, key). A record holds the hash
 * of the request body and a reference to the result (a reservation id) and expires after `ttlMs`
 * (24 h). The same key with the same body gets the same result; with another body, the caller answers
 * 422 idempotency_key_reused.
 */
export type ClaimResult =
  | { readonly kind: 'claimed'; readonly ref: string }
  | { readonly kind: 'replay'; readonly ref: string }
  | { readonly kind: 'reused_with_other_body' };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A canonical hash of a JSON body: key order does not matter. */
export function bodyHash(body: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
    }
    return value;
  };
  return sha256(JSON.stringify(canonical(body)));
}

/** Header values we accept: 1–128 visible ASCII characters. */
export const isValidIdempotencyKey = (key: string): boolean => /^[\x21-\x7e]{1,128}$/.test(key);

export class IdempotencyKeys {
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, options: { keyPrefix: string; ttlMs: number }) {
    this.#redis = redis;
    this.#scripts = new Scripts(redis);
    this.#prefix = options.keyPrefix;
    this.#ttlMs = options.ttlMs;
  }

  #key(userId: string, route: string, key: string): string {
    return idempotencyKey(this.#prefix, sha256(userId).slice(0, 32), route, key);
  }

  /** Claims the key for `ref`, or returns the earlier claim (atomic: two concurrent claims get one ref). */
  async claim(userId: string, route: string, key: string, hash: string, ref: string): Promise<ClaimResult> {
    const reply = (await this.#scripts.run('claimIdempotencyKey', [this.#key(userId, route, key)], [hash, ref, this.#ttlMs])) as (string | number)[];
    if (reply[0] === 1) return { kind: 'claimed', ref: String(reply[1]) };
    return reply[1] === hash ? { kind: 'replay', ref: String(reply[2]) } : { kind: 'reused_with_other_body' };
  }

  /** Forgets a claim whose request did not produce a result to keep (a 503, a declined payment). */
  async release(userId: string, route: string, key: string): Promise<void> {
    await this.#redis.del(this.#key(userId, route, key));
  }
}
