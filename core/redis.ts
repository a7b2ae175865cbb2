import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.ts';
import { projectPath } from './paths.ts';

/** An ioredis client with an 'error' listener (an emitter without one crashes the process). */
export function createRedis(url: string, logger: Logger, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { enableAutoPipelining: true, ...options });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  return redis;
}

export type ScriptName =
  | 'admitRequest'
  | 'admitBatch'
  | 'decideRequest'
  | 'decideBatch'
  | 'drawLottery'
  | 'acquireLease'
  | 'releaseLease'
  | 'initStock'
  | 'reapHolds'
  | 'beginConfirm'
  | 'finishConfirm'
  | 'cancelReservation'
  | 'claimIdempotencyKey'
  | 'countHits';
type ScriptReply = (string | number | null)[] | number;

const LUA_DIR = projectPath('core', 'lua');

interface ScriptSource {
  /** undefined: the caller says how many (`<name>-n.lua`) */
  readonly numberOfKeys: number | undefined;
  readonly lua: string;
}

/** Reads core/lua/<name>-<numKeys>.lua (`-n`: any number of keys) once, each with the shared prelude in front. */
function readScripts(): Map<string, ScriptSource> {
  const prelude = readFileSync(join(LUA_DIR, '_prelude.lua'), 'utf8');
  const scripts = new Map<string, ScriptSource>();
  for (const file of readdirSync(LUA_DIR)) {
    const match = /^([a-zA-Z]+)-(\d+|n)\.lua$/.exec(file);
    if (!match) continue;
    const lua = `${prelude}\n${readFileSync(join(LUA_DIR, file), 'utf8')}`;
    scripts.set(match[1]!, { numberOfKeys: match[2] === 'n' ? undefined : Number(match[2]), lua });
  }
  return scripts;
}

let cached: Map<string, ScriptSource> | undefined;

/**
 * Runs the project's Lua scripts on one client (EVALSHA, falling back to EVAL after a Redis restart:
 * ioredis's defineCommand does that). Scripts return codes, never free text; callers map the codes.
 */
export class Scripts {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    cached ??= readScripts();
    for (const [name, source] of cached) {
      if (!(name in redis)) redis.defineCommand(name, source);
    }
    this.#redis = redis;
  }

  async run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptReply> {
    const command = (this.#redis as unknown as Record<string, (...a: (string | number)[]) => Promise<ScriptReply>>)[name];
    if (!command) throw new Error(`unknown script ${name}`);
    const expected = cached!.get(name)!.numberOfKeys;
    if (expected === undefined) return command.call(this.#redis, keys.length, ...keys, ...args);
    if (keys.length !== expected) throw new Error(`script ${name} takes ${expected} keys, got ${keys.length}`);
    return command.call(this.#redis, ...keys, ...args);
  }
}
