import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectPath } from './paths.ts';
import { preludeFor } from './redis.ts';

const PRELUDE = [
  '-- a header',
  '',
  '-- the clock',
  'local function now_ms()',
  "  return redis.call('TIME')",
  'end',
  '',
  'local FIELDS = { "a", "b" }',
  '',
  '-- emits a snapshot',
  'local function emit_snapshot(snap)',
  '  return now_ms()',
  'end',
  '',
  '-- calls emit_snapshot and names release in a comment only',
  'local function emit(x)',
  '  -- release(x) is not called here',
  '  return emit_snapshot(x), FIELDS',
  'end',
  '',
  'local function release(x)',
  '  return x',
  'end',
].join('\n');

/** The top-level definitions a text makes, in order. */
const definedIn = (lua: string) => [...lua.matchAll(/^local (?:function )?(\w+)/gm)].map((m) => m[1]);

describe('preludeFor', () => {
  it('keeps what a script names and what that names in turn, in the prelude order, with their comments', () => {
    const kept = preludeFor(PRELUDE, 'return emit(1)');
    expect(definedIn(kept)).to.deep.equal(['now_ms', 'FIELDS', 'emit_snapshot', 'emit']);
    expect(kept).to.contain('-- a header').and.contain('-- the clock').and.contain('-- emits a snapshot');
  });

  it('does not count a name in a comment, nor a longer name that starts with it', () => {
    expect(definedIn(preludeFor(PRELUDE, '-- emit(1) would\nreturn emit_snapshot(1)'))).to.deep.equal(['now_ms', 'emit_snapshot']);
  });

  it('keeps only the header for a script that uses nothing', () => {
    expect(preludeFor(PRELUDE, 'return 1').trim()).to.equal('-- a header');
  });

  it('refuses a top-level local it cannot name', () => {
    expect(() => preludeFor('local a, b = 1, 2', 'return a')).to.throw(/prelude line 1/);
  });

  it('gives each project script every prelude definition its text names', () => {
    const dir = projectPath('core', 'lua');
    const prelude = readFileSync(join(dir, '_prelude.lua'), 'utf8');
    const all = definedIn(prelude);
    expect(all.length).to.be.greaterThan(10);
    for (const file of readdirSync(dir).filter((f) => /^[a-zA-Z]+-(\d+|n)\.lua$/.test(f))) {
      const body = readFileSync(join(dir, file), 'utf8');
      const code = body.replace(/--.*$/gm, '');
      const kept = definedIn(preludeFor(prelude, body));
      for (const name of all) if (new RegExp(`\\b${name}\\b`).test(code)) expect(kept, `${file} uses ${name}`).to.include(name);
    }
  });
});
