import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { CONFIG_SCHEMA } from '../core/config.ts';
import { ERROR_CATALOGUE } from '../core/errors.ts';

const doc = (name: string) => readFileSync(new URL(`../docs/${name}`, import.meta.url), 'utf8');
/** First-column `code` cells of a markdown table. */
const tableKeys = (markdown: string) => [...markdown.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);

describe('docs agree with the code', () => {
  it('docs/config.md documents every environment variable of the config schema, and no other', () => {
    const documented = new Set(tableKeys(doc('config.md')));
    const scriptOnly = ['INFRA_STATE_DIR', 'KAFKA_CONTROLLER_PORT', 'TEST_DATABASE_URL', 'CHROMIUM_PATH'];
    const schema = Object.values(CONFIG_SCHEMA).map((s) => s.env);
    expect([...documented].filter((v) => !scriptOnly.includes(v)).sort()).to.deep.equal([...schema].sort());
  });

  it('docs/errors.md lists every code of the error catalogue with its status, and no other', () => {
    const rows = [...doc('errors.md').matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    const catalogue = Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.status]);
    expect(rows.sort()).to.deep.equal(catalogue.sort());
  });
});
