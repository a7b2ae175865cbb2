import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, type AnyNode, type Expression, type ObjectExpression, type Program } from 'acorn';

/**
 * What a k6 script does, read from its syntax tree (acorn) without running it: the environment
 * variables it reads, the HTTP calls it makes (method, path template, query names, `endpoint` tag),
 * its `options.thresholds`, the statuses it declares expected, and its `COHORTS` literal. Local
 * imports (`./lib/x.js`) are read too and their env reads and calls merged in.
 * test/k6-scripts.test.ts compares these facts with scripts/loadtest/contract.ts.
 * Test-only: it needs acorn, a dev dependency.
 */

export interface HttpCall {
  readonly file: string;
  readonly line: number;
  readonly method: string;
  /** Path with `{id}` for each interpolation after the base URL, e.g. `/reservations/{id}`. */
  readonly path: string;
  readonly query: readonly string[];
  readonly endpointTag: string | undefined;
}

export interface K6ScriptFacts {
  readonly env: readonly string[];
  readonly httpCalls: readonly HttpCall[];
  readonly thresholds: Record<string, string[]> | undefined;
  readonly handledStatuses: readonly number[] | undefined;
  readonly cohorts: unknown;
  /** What could not be read statically (a URL that is not a template on the base URL, ...). */
  readonly problems: readonly string[];
}

const HTTP_METHODS: Readonly<Record<string, string>> = { get: 'GET', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE' };

/** Every node under `node`, depth first. */
function* nodes(node: unknown): Generator<AnyNode> {
  if (Array.isArray(node)) {
    for (const child of node) yield* nodes(child);
    return;
  }
  if (typeof node !== 'object' || node === null || typeof (node as { type?: unknown }).type !== 'string') return;
  yield node as AnyNode;
  for (const [key, value] of Object.entries(node)) if (key !== 'loc') yield* nodes(value);
}

const isIdentifier = (node: AnyNode | Expression | null | undefined, name: string) => node?.type === 'Identifier' && node.name === name;

const propertyName = (key: AnyNode): string | undefined =>
  key.type === 'Identifier' ? key.name : key.type === 'Literal' && typeof key.value === 'string' ? key.value : undefined;

/** The value of a literal expression (strings, numbers, booleans, arrays, plain objects), or throws. */
export function literalValue(node: AnyNode): unknown {
  if (node.type === 'Literal') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked;
  if (node.type === 'UnaryExpression' && node.operator === '-') return -Number(literalValue(node.argument));
  if (node.type === 'ArrayExpression') return node.elements.map((e) => (e === null ? null : literalValue(e)));
  if (node.type === 'ObjectExpression') {
    const out: Record<string, unknown> = {};
    for (const p of node.properties) {
      if (p.type !== 'Property' || p.computed) throw new Error('not a literal object');
      const name = propertyName(p.key);
      if (name === undefined) throw new Error('not a literal key');
      out[name] = literalValue(p.value);
    }
    return out;
  }
  throw new Error(`not a literal: ${node.type}`);
}

/** Top-level `const NAME = <init>` declarations (exported or not). */
function topLevelConsts(program: Program): Map<string, Expression> {
  const out = new Map<string, Expression>();
  for (const statement of program.body) {
    const declaration = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (declaration?.type !== 'VariableDeclaration') continue;
    for (const d of declaration.declarations) if (d.id.type === 'Identifier' && d.init) out.set(d.id.name, d.init);
  }
  return out;
}

function httpCall(node: AnyNode & { type: 'CallExpression' }, file: string, source: string, problems: string[]): HttpCall | undefined {
  const callee = node.callee;
  if (callee.type !== 'MemberExpression' || !isIdentifier(callee.object as AnyNode, 'http') || callee.property.type !== 'Identifier') return undefined;
  const method = HTTP_METHODS[callee.property.name];
  const line = source.slice(0, node.start).split('\n').length;
  if (callee.property.name === 'request' || callee.property.name === 'batch') problems.push(`${file}:${line}: use http.get/post/put/patch/del, not http.${callee.property.name}`);
  if (!method) return undefined;
  const url = node.arguments[0];
  if (url?.type !== 'TemplateLiteral' || url.quasis[0]?.value.cooked !== '' || url.expressions.length === 0) {
    problems.push(`${file}:${line}: the URL of http.${callee.property.name} must be a template literal starting with the base URL, \`\${BASE_URL}/path\``);
    return undefined;
  }
  const rest = url.quasis.slice(1).map((q) => q.value.cooked ?? '');
  const [pathPart, ...queryParts] = rest.join('{id}').split('?');
  const query = queryParts.join('?').split('&').filter(Boolean).map((pair) => pair.split('=')[0]!);
  let endpointTag: string | undefined;
  for (const arg of node.arguments.slice(1)) {
    if (arg.type !== 'ObjectExpression') continue;
    const tags = arg.properties.find((p) => p.type === 'Property' && propertyName(p.key) === 'tags');
    if (tags?.type === 'Property' && tags.value.type === 'ObjectExpression') {
      const tag = (tags.value as ObjectExpression).properties.find((p) => p.type === 'Property' && propertyName(p.key) === 'endpoint');
      if (tag?.type === 'Property' && tag.value.type === 'Literal' && typeof tag.value.value === 'string') endpointTag = tag.value.value;
    }
  }
  return { file, line, method, path: pathPart ?? '', query, endpointTag };
}

/** The facts of one file, and the relative modules it imports. */
export function k6FileFacts(source: string, file: string): K6ScriptFacts & { readonly imports: readonly string[] } {
  const program = parse(source, { ecmaVersion: 'latest', sourceType: 'module' });
  const consts = topLevelConsts(program);
  const env = new Set<string>();
  const httpCalls: HttpCall[] = [];
  const problems: string[] = [];
  let handledStatuses: number[] | undefined;
  for (const node of nodes(program)) {
    if (node.type === 'MemberExpression' && isIdentifier(node.object as AnyNode, '__ENV')) {
      const name = node.computed ? (node.property.type === 'Literal' ? node.property.value : undefined) : node.property.type === 'Identifier' ? node.property.name : undefined;
      if (typeof name === 'string') env.add(name);
      else problems.push(`${file}: __ENV read with a computed name`);
    }
    if (node.type !== 'CallExpression') continue;
    const call = httpCall(node, file, source, problems);
    if (call) httpCalls.push(call);
    const callee = node.callee;
    if (callee.type === 'MemberExpression' && isIdentifier(callee.object as AnyNode, 'http') && callee.property.type === 'Identifier' && callee.property.name === 'expectedStatuses') {
      handledStatuses = node.arguments.flatMap((arg): number[] => {
        const value = arg.type === 'SpreadElement' && arg.argument.type === 'Identifier' ? consts.get(arg.argument.name) : arg.type === 'SpreadElement' ? undefined : arg;
        try {
          const v = value ? literalValue(value) : undefined;
          if (typeof v === 'number') return [v];
          if (Array.isArray(v) && v.every((s) => typeof s === 'number')) return v as number[];
        } catch {
          // reported below
        }
        problems.push(`${file}: http.expectedStatuses takes numbers or a spread top-level const array of numbers`);
        return [];
      });
    }
  }
  let thresholds: Record<string, string[]> | undefined;
  const options = consts.get('options');
  if (options?.type === 'ObjectExpression') {
    const t = options.properties.find((p) => p.type === 'Property' && propertyName(p.key) === 'thresholds');
    if (t?.type === 'Property') {
      try {
        thresholds = literalValue(t.value) as Record<string, string[]>;
      } catch {
        problems.push(`${file}: options.thresholds must be an object literal`);
      }
    }
  }
  let cohorts: unknown;
  const cohortsNode = consts.get('COHORTS');
  if (cohortsNode) {
    try {
      cohorts = literalValue(cohortsNode);
    } catch {
      problems.push(`${file}: COHORTS must be a literal`);
    }
  }
  const imports = program.body.flatMap((s) => (s.type === 'ImportDeclaration' && typeof s.source.value === 'string' && s.source.value.startsWith('.') ? [s.source.value] : []));
  return { env: [...env].sort(), httpCalls, thresholds, handledStatuses, cohorts, problems, imports };
}

/** The facts of a script with its local imports merged in (their env reads and HTTP calls). */
export function k6ScriptFacts(path: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): K6ScriptFacts {
  const main = k6FileFacts(read(path), path);
  const env = new Set(main.env);
  const httpCalls = [...main.httpCalls];
  const problems = [...main.problems];
  const seen = new Set([path]);
  const queue = main.imports.map((i) => resolve(dirname(path), i));
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue;
    seen.add(next);
    const facts = k6FileFacts(read(next), next);
    facts.env.forEach((e) => env.add(e));
    httpCalls.push(...facts.httpCalls);
    problems.push(...facts.problems);
    queue.push(...facts.imports.map((i) => resolve(dirname(next!), i)));
  }
  return { env: [...env].sort(), httpCalls, thresholds: main.thresholds, handledStatuses: main.handledStatuses, cohorts: main.cohorts, problems };
}
