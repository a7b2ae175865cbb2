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

/**
 * The part of the prelude (core/lua/_prelude.lua) that `script` uses: each of the prelude's top-level
 * definitions (`local function name(…)` or `local NAME = …`, with the comment lines right above it)
 * that the script names, and those these name in turn, in the prelude's order. Redis runs a script's
 * whole text on every call, so every definition kept costs each call the making of a closure or a
 * table: the whole prelude cost `countHits` ~10 µs a call, about as much as its own work. Names in
 * comments do not count.
 */
export function preludeFor(prelude: string, script: string): string {
  const lines = prelude.split('\n');
  const definitions: { name: string; from: number }[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('local ')) return;
    const name = /^local (?:function )?([A-Za-z_]\w*)\s*[(=]/.exec(line)?.[1];
    if (!name) throw new Error(`prelude line ${i + 1}: a top-level local must define one function or value: ${line}`);
    let from = i;
    while (from > 0 && lines[from - 1]!.startsWith('--')) from--;
    definitions.push({ name, from });
  });
  const chunks = definitions.map((d, k) => ({ name: d.name, text: lines.slice(d.from, definitions[k + 1]?.from ?? lines.length).join('\n') }));
  const head = lines.slice(0, definitions[0]?.from ?? lines.length).join('\n');
  const kept = new Set<string>();
  const keepWhatIsNamedIn = (text: string) => {
    const code = text.replace(/--.*$/gm, '');
    for (const chunk of chunks) {
      if (kept.has(chunk.name) || !new RegExp(`\\b${chunk.name}\\b`).test(code)) continue;
      kept.add(chunk.name);
      keepWhatIsNamedIn(chunk.text);
    }
  };
  keepWhatIsNamedIn(script);
  return [head, ...chunks.filter((c) => kept.has(c.name)).map((c) => c.text)].filter((text) => text !== '').join('\n');
}

/** Reads core/lua/<name>-<numKeys>.lua (`-n`: any number of keys) once, each with the part of the shared prelude it uses in front. */
function readScripts(): Map<string, ScriptSource> {
  const prelude = readFileSync(join(LUA_DIR, '_prelude.lua'), 'utf8');
  const scripts = new Map<string, ScriptSource>();
  for (const file of readdirSync(LUA_DIR)) {
    const match = /^([a-zA-Z]+)-(\d+|n)\.lua$/.exec(file);
    if (!match) continue;
    const body = readFileSync(join(LUA_DIR, file), 'utf8');
    const lua = `${preludeFor(prelude, body)}\n${body}`;
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
