import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { COHORTS, ENDPOINTS, ENV_TO_DRIVER_OPTION, SCENARIOS, toK6Thresholds, type EndpointName, type ScenarioContract } from '../scripts/loadtest/contract.ts';
import { k6ScriptFacts, type K6ScriptFacts } from '../scripts/loadtest/k6-script-facts.ts';
import { LOADTEST_OPTIONS } from '../scripts/loadtest/options.ts';

const scriptPath = (name: string) => fileURLToPath(new URL(`../k6/${name}`, import.meta.url));
const read = (path: string) => readFileSync(path, 'utf8');
const doc = (name: string) => read(fileURLToPath(new URL(`../docs/${name}`, import.meta.url)));

/** Sorted keys at every level, so two objects compare equal whatever their key order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));

/** Every way a k6 script's facts differ from its scenario's contract; empty when they agree. */
function mismatches(facts: K6ScriptFacts, contract: ScenarioContract): string[] {
  const out = [...facts.problems];
  for (const name of facts.env) if (!contract.env.includes(name)) out.push(`reads __ENV.${name}, which the contract does not list`);
  for (const name of contract.env) if (!facts.env.includes(name)) out.push(`does not read __ENV.${name}, which the contract lists`);

  const called = new Set<EndpointName>();
  for (const call of facts.httpCalls) {
    const where = `${call.file.split('/k6/')[1] ?? call.file}:${call.line}`;
    const match = (Object.entries(ENDPOINTS) as [EndpointName, (typeof ENDPOINTS)[EndpointName]][]).find(([, e]) => e.method === call.method && e.path === call.path);
    if (!match) {
      out.push(`${where}: ${call.method} ${call.path} is no endpoint of the contract`);
      continue;
    }
    const [name, endpoint] = match;
    called.add(name);
    if (!contract.endpoints.includes(name)) out.push(`${where}: calls ${name}, which the contract does not list for ${contract.script}`);
    for (const q of call.query) if (!endpoint.query.includes(q)) out.push(`${where}: query parameter ${q} is not one of ${name}'s (${endpoint.query.join(', ') || 'none'})`);
    if (call.endpointTag !== name) out.push(`${where}: ${call.method} ${call.path} is tagged endpoint '${call.endpointTag ?? '(none)'}', not '${name}'`);
  }
  for (const name of contract.endpoints) if (!called.has(name)) out.push(`never calls ${name} (${ENDPOINTS[name].method} ${ENDPOINTS[name].path}), which the contract lists`);

  const expected = toK6Thresholds(contract.thresholds);
  if (canonical(facts.thresholds) !== canonical(expected)) out.push(`thresholds ${canonical(facts.thresholds)} differ from the contract's ${canonical(expected)}`);
  const statuses = [...(facts.handledStatuses ?? [])].sort((a, b) => a - b);
  if (canonical(statuses) !== canonical([...contract.handledStatuses].sort((a, b) => a - b))) {
    out.push(`expected statuses ${statuses.join(', ') || '(none)'} differ from the contract's ${contract.handledStatuses.join(', ')}`);
  }
  if (contract.script === 'fairness.js' && canonical(facts.cohorts) !== canonical(COHORTS)) out.push(`COHORTS ${canonical(facts.cohorts)} differ from the contract's ${canonical(COHORTS)}`);
  return out;
}

/** The facts of k6/<script> after replacing `from` by `to` in the script itself (not its imports). */
function mutatedFacts(script: string, from: string | RegExp, to: string): K6ScriptFacts {
  const path = scriptPath(script);
  const source = read(path);
  const mutated = source.replace(from, to);
  expect(mutated, `the mutation of ${script} changed nothing`).to.not.equal(source);
  return k6ScriptFacts(path, (p) => (p === path ? mutated : read(p)));
}

describe('the k6 scripts agree with scripts/loadtest/contract.ts (what the Node driver uses)', () => {
  for (const [scenario, contract] of Object.entries(SCENARIOS)) {
    it(`k6/${contract.script} reads exactly the ${scenario} scenario's environment, calls its endpoints with their tags, and has its thresholds and expected statuses`, () => {
      expect(mismatches(k6ScriptFacts(scriptPath(contract.script)), contract)).to.deep.equal([]);
    });
  }

  it('a renamed environment variable is caught, in both directions', () => {
    const found = mismatches(mutatedFacts('reserve.js', /__ENV\.RATE\b/, '__ENV.REQUEST_RATE'), SCENARIOS.reserve);
    expect(found).to.include('reads __ENV.REQUEST_RATE, which the contract does not list');
    expect(found).to.include('does not read __ENV.RATE, which the contract lists');
  });

  it('an environment variable read in an imported module counts for the script', () => {
    const facts = k6ScriptFacts(scriptPath('fairness.js'), (p) => (p.endsWith('/lib/buyer.js') ? `${read(p)}\nconst x = __ENV.SNEAKY;\n` : read(p)));
    expect(mismatches(facts, SCENARIOS.fairness)).to.include('reads __ENV.SNEAKY, which the contract does not list');
  });

  it('a changed threshold is caught', () => {
    const found = mismatches(mutatedFacts('reserve.js', "'p(95)<200'", "'p(95)<500'"), SCENARIOS.reserve);
    expect(found.some((m) => m.startsWith('thresholds '))).to.equal(true);
  });

  it('a changed path, a wrong endpoint tag and an unknown query parameter are caught', () => {
    expect(mismatches(mutatedFacts('reserve.js', '${BASE_URL}/reserve`', '${BASE_URL}/reservations`'), SCENARIOS.reserve)).to.include('never calls reserve (POST /reserve), which the contract lists');
    expect(mismatches(mutatedFacts('reserve.js', "tags: { endpoint: 'reserve' }", "tags: { endpoint: 'book' }"), SCENARIOS.reserve).some((m) => m.includes("tagged endpoint 'book'"))).to.equal(true);
    const facts = k6ScriptFacts(scriptPath('ticket-war.js'), (p) => (p.endsWith('/lib/buyer.js') ? read(p).replaceAll('&status=queued', '&state=queued') : read(p)));
    expect(mismatches(facts, SCENARIOS['ticket-war']).some((m) => m.includes('query parameter state'))).to.equal(true);
  });

  it('a URL the test cannot read, a dropped expected status and a changed cohort are caught', () => {
    const concatenated = mismatches(mutatedFacts('reserve.js', '`${BASE_URL}/reserve`', "BASE_URL + '/reserve'"), SCENARIOS.reserve);
    expect(concatenated.some((m) => m.includes('must be a template literal'))).to.equal(true);
    const dropped = mismatches(mutatedFacts('reserve.js', '[201, 202, 409, 429]', '[201, 202, 409]'), SCENARIOS.reserve);
    expect(dropped.some((m) => m.startsWith('expected statuses 201, 202, 409 differ'))).to.equal(true);
    const cohort = mismatches(mutatedFacts('fairness.js', "{ name: 'slow', vus: 5, thinkMs: 1000 }", "{ name: 'slow', vus: 5, thinkMs: 2000 }"), SCENARIOS.fairness);
    expect(cohort.some((m) => m.startsWith('COHORTS '))).to.equal(true);
  });

  it("every k6 environment variable maps to a driver option that exists (or to none, on purpose)", () => {
    const envs = new Set(Object.values(SCENARIOS).flatMap((s) => s.env));
    for (const env of envs) {
      expect(ENV_TO_DRIVER_OPTION, env).to.have.property(env);
      const option = ENV_TO_DRIVER_OPTION[env];
      if (option !== null) expect(LOADTEST_OPTIONS, `${env} -> --${option}`).to.have.property(option!);
    }
  });

  it('every endpoint of the contract is documented as METHOD path in its doc', () => {
    for (const [name, e] of Object.entries(ENDPOINTS)) expect(doc(e.doc), name).to.include(`${e.method} ${e.path}`);
  });

  it('docs/loadtest.md names every driver option and every k6 environment variable', () => {
    const text = doc('loadtest.md');
    for (const option of Object.keys(LOADTEST_OPTIONS)) expect(text, option).to.include(`--${option}`);
    for (const env of new Set(Object.values(SCENARIOS).flatMap((s) => s.env))) expect(text, env).to.include(`\`${env}\``);
  });
});
