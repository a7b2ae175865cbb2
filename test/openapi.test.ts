import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { createApp, type AppDeps } from '../gateway/app.ts';
import { buildOpenApiSpec, type OpenApiDocument } from '../gateway/docs/openapi.ts';
import { REQUEST_SCHEMAS } from '../gateway/schemas.ts';
import { waitFor } from './support/env.ts';
import { startTestStack, type HttpResult, type TestStack } from './support/stack.ts';

// The OpenAPI document is generated from the route files (gateway/docs/openapi.ts). These tests hold it
// to the app: every route served is documented and every documented operation is served, the document
// is valid OpenAPI 3.0, its request schemas are the validator's own objects, and real responses of a
// running gateway (with a shard and the persister) match it.

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
type Json = Record<string, unknown>;

/**
 * Handlers mounted at a path that are not routes of ours: each is either middleware (serves nothing)
 * or documented as one operation. A mount not listed here fails the route test.
 */
const MOUNTS: Record<string, { documentedAs?: string; why: string }> = {
  '/admin': { why: 'cookie-parser for the board pages: middleware only' },
  '/admin/queues': {
    documentedAs: 'GET /admin/queues',
    why: "Bull Board: its pages, scripts and JSON API under /admin/queues/ are its own, documented as the board's one entry",
  },
  '/swagger': { documentedAs: 'GET /swagger/index.html', why: "swagger-ui-dist's scripts and styles, and the init script carrying the document" },
};

/** Routes that are another door to a documented operation. */
const ALIASES: Record<string, string> = {
  // `/swagger/` shows the page and `/swagger` redirects to it: Swagger UI is documented once.
  'GET /swagger': 'GET /swagger/index.html',
};

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: unknown;
  slash?: boolean;
  name: string;
}

const toOpenApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');

/** Walks Express 5's router stack: the routes ("METHOD /path/{param}") and the path-mounted handlers. */
function walk(stack: Layer[], prefix: string, found: { routes: Set<string>; mounts: Set<string> }): void {
  for (const layer of stack) {
    if (layer.route) {
      if (typeof layer.route.path !== 'string') throw new Error(`a route with a non-string path (${String(layer.route.path)}): teach this test to read it`);
      for (const method of Object.keys(layer.route.methods)) found.routes.add(`${method.toUpperCase()} ${toOpenApiPath(prefix + layer.route.path)}`);
    } else if (layer.slash) {
      if (Array.isArray(layer.handle.stack)) walk(layer.handle.stack, prefix, found);
    } else {
      if (typeof layer.rawPath !== 'string') throw new Error(`handler ${layer.name} is mounted at a path this test cannot read`);
      const at = prefix + layer.rawPath;
      if (!(at in MOUNTS) && Array.isArray(layer.handle.stack)) walk(layer.handle.stack, at, found);
      else found.mounts.add(at);
    }
  }
}

/** The app as gateway.ts builds it (board included); the walk only reads its routes, so deps are inert. */
function inertApp() {
  const unused = () => {
    throw new Error('not used by the route walk');
  };
  const deps = {
    jwtSecret: 'route-walk-secret-route-walk-secret',
    bodyLimit: '16kb',
    paymentTimeoutMs: 1_000,
    logger: { error: unused, warn: unused, info: unused },
    metrics: { registry: new Registry(), http: (_req: unknown, _res: unknown, next: () => void) => next(), admission: unused, rateLimited: unused },
    board: { queueOf: unused, eventIds: unused },
  } as unknown as AppDeps;
  return createApp(deps) as unknown as { router: { stack: Layer[] } };
}

function operations(spec: OpenApiDocument): { key: string; path: string; method: string; op: Json }[] {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((method) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op: item[method] as Json })),
  );
}

/** Every `$ref` in a JSON value, with where it is. */
function refsIn(value: unknown, at = '#', out: { ref: string; at: string }[] = []): { ref: string; at: string }[] {
  if (Array.isArray(value)) value.forEach((v, i) => refsIn(v, `${at}/${i}`, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push({ ref: v, at });
      else refsIn(v, `${at}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, out);
    }
  }
  return out;
}

function pointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Json)[key] : undefined), doc);
}

const escape = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

describe('OpenAPI document', () => {
  const spec = buildOpenApiSpec();

  it('documents every route the app serves, and the app serves every documented operation', () => {
    const found = { routes: new Set<string>(), mounts: new Set<string>() };
    walk(inertApp().router.stack, '', found);
    expect([...found.mounts].sort(), 'handlers mounted at a path (list a new one in MOUNTS, or make it a documented route)').to.deep.equal(Object.keys(MOUNTS).sort());
    for (const [alias, target] of Object.entries(ALIASES)) expect(found.routes, `alias ${alias}`).to.include(target);
    const served = new Set([...found.routes].filter((r) => !(r in ALIASES)));
    for (const mount of Object.values(MOUNTS)) if (mount.documentedAs) served.add(mount.documentedAs);
    const documented = new Set(operations(spec).map((o) => o.key));
    expect([...served].filter((r) => !documented.has(r)), 'served but not documented (add an @openapi block)').to.deep.equal([]);
    expect([...documented].filter((r) => !served.has(r)), 'documented but not served').to.deep.equal([]);
    expect(served.size).to.be.greaterThan(15);
  });

  it('is a valid OpenAPI 3.0 document: the official schema, every $ref resolves, every schema compiles', async () => {
    expect(spec.openapi).to.equal('3.0.3');
    expect(spec.info.title).to.equal('war-ticket');
    // swagger-jsdoc's own validator (its dependency, resolved from it), on a copy: it dereferences in place.
    const fromSwaggerJsdoc = createRequire(createRequire(import.meta.url).resolve('swagger-jsdoc'));
    const SwaggerParser = fromSwaggerJsdoc('@apidevtools/swagger-parser') as { validate(api: unknown): Promise<unknown> };
    await SwaggerParser.validate(structuredClone(spec));

    const unresolved = refsIn(spec).filter(({ ref }) => pointer(spec, ref) === undefined);
    expect(unresolved, 'dangling $refs').to.deep.equal([]);

    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ ...spec, $id: 'openapi.json' });
    for (const name of Object.keys(spec.components.schemas)) {
      expect(() => ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` }), name).not.to.throw();
    }

    const ids = operations(spec).map((o) => o.op.operationId);
    expect(new Set(ids).size, 'unique operationIds').to.equal(ids.length);
    const tags = new Set((spec.tags as { name: string }[]).map((t) => t.name));
    for (const { key, op } of operations(spec)) {
      expect(op.summary, `${key} summary`).to.be.a('string');
      expect(op.tags, `${key} tags`).to.be.an('array').that.is.not.empty;
      for (const tag of op.tags as string[]) expect(tags, `${key} tag ${tag}`).to.include(tag);
      expect(op.security, `${key} says who may call it (security, [] when public)`).to.be.an('array');
      for (const [status, response] of Object.entries(op.responses as Json)) {
        const resolved = ((response as Json).$ref ? pointer(spec, (response as Json).$ref as string) : response) as Json;
        expect((resolved.headers as Json | undefined)?.['X-Request-Id'], `${key} ${status} X-Request-Id`).to.exist;
        if (Number(status) >= 400) {
          expect(Object.keys(resolved.content as Json), `${key} ${status} is a problem`).to.deep.equal(['application/problem+json']);
          expect((resolved.content as Record<string, Json>)['application/problem+json']!.schema).to.deep.equal({ $ref: '#/components/schemas/Problem' });
        }
      }
    }
  });

  it('publishes the very request schemas the gateway validates with, and every JSON body refers to one', () => {
    for (const [name, schema] of Object.entries(REQUEST_SCHEMAS)) expect(spec.components.schemas[name], name).to.equal(schema);
    const used = new Set<string>();
    for (const { key, op } of operations(spec)) {
      const body = op.requestBody as { content: Record<string, { schema: Json }> } | undefined;
      const json = body?.content['application/json'];
      if (!json) continue;
      const name = String(json.schema.$ref ?? '').replace('#/components/schemas/', '');
      expect(REQUEST_SCHEMAS, `${key}: its JSON body is $ref to a schema of gateway/schemas.ts`).to.have.property(name);
      used.add(name);
    }
    expect([...used].sort()).to.deep.equal(Object.keys(REQUEST_SCHEMAS).sort());
  });
});

/** Checks each response against the document: documented status, content type, required headers, body. */
class ResponseChecker {
  readonly #spec: OpenApiDocument;
  readonly #ajv = new Ajv({ strict: false, allErrors: true });
  readonly #compiled = new Map<string, ValidateFunction>();
  readonly #templates: { path: string; pattern: RegExp; params: number }[];
  /** "METHOD /template STATUS" of every response checked */
  readonly seen = new Set<string>();

  constructor(spec: OpenApiDocument) {
    this.#spec = spec;
    addFormats.default(this.#ajv);
    // The whole document as one schema resource: the '#/components/...' refs inside resolve against it.
    this.#ajv.addSchema({ ...spec, $id: 'openapi.json' });
    this.#templates = Object.keys(spec.paths)
      .map((path) => ({ path, pattern: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+').replaceAll('.', '\\.')}$`), params: (path.match(/\{/g) ?? []).length }))
      .sort((a, b) => a.params - b.params);
  }

  check(method: string, url: string, res: HttpResult): void {
    const path = url.split('?')[0]!;
    const template = this.#templates.find((t) => t.pattern.test(path))?.path;
    const where = `${method} ${template ?? path} ${res.status}`;
    expect(template, `${method} ${path} is documented`).to.be.a('string');
    let pointerTo = `#/paths/${escape(template!)}/${method.toLowerCase()}/responses/${res.status}`;
    let response = pointer(this.#spec, pointerTo) as Json | undefined;
    expect(response, `${where}: status documented (${JSON.stringify(res.body)})`).to.exist;
    if (response!.$ref) {
      pointerTo = response!.$ref as string;
      response = pointer(this.#spec, pointerTo) as Json;
    }
    for (const [name, header] of Object.entries((response!.headers ?? {}) as Record<string, Json>)) {
      const resolved = (header.$ref ? pointer(this.#spec, header.$ref as string) : header) as Json;
      if (resolved.required) expect(res.headers.get(name), `${where}: header ${name}`).to.be.a('string');
    }
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const content = (response!.content ?? {}) as Json;
    if (Object.keys(content).length === 0) {
      this.seen.add(`${method} ${template} ${res.status}`);
      return;
    }
    expect(content, `${where}: content type ${contentType}`).to.have.property(contentType);
    const schemaAt = `openapi.json${pointerTo}/content/${escape(contentType)}/schema`;
    let validate = this.#compiled.get(schemaAt);
    if (!validate) this.#compiled.set(schemaAt, (validate = this.#ajv.compile({ $ref: schemaAt })));
    const isValid = validate(res.body);
    expect(isValid, `${where}: body ${JSON.stringify(res.body)} does not match: ${this.#ajv.errorsText(validate.errors)}`).to.equal(true);
    this.seen.add(`${method} ${template} ${res.status}`);
  }
}

describe('OpenAPI document against a running gateway', function () {
  this.timeout(120_000);
  const spec = buildOpenApiSpec();
  const checker = new ResponseChecker(spec);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ gateway: true, shard: true, persister: true });
  });
  after(async () => {
    await stack?.close();
  });

  type Options = Parameters<TestStack['http']>[2];
  async function call(method: string, url: string, status: number, options: Options = {}): Promise<HttpResult> {
    const res = await stack.http(method, url, options);
    expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).to.equal(status);
    checker.check(method, url, res);
    return res;
  }

  it('serves the same document at /openapi.json, and every response of a ticket-war flow matches it', async () => {
    const admin = stack.token('admin', 'admin-openapi');
    const user = stack.token('user', `user-${randomUUID().slice(0, 8)}`);
    const other = stack.token('user', `other-${randomUUID().slice(0, 8)}`);

    const served = await call('GET', '/openapi.json', 200);
    expect(served.body).to.deep.equal(JSON.parse(JSON.stringify(spec)));
    await call('GET', '/health', 200);
    await call('GET', '/ready', 200);
    await call('GET', '/metrics', 200);
    const page = await call('GET', '/swagger/index.html', 200);
    expect(page.body).to.include('swagger-ui-init.js');
    await call('GET', '/admin/login', 200);

    // Events (admin writes, anyone reads), with the errors a client meets first.
    await call('POST', '/events', 401, { body: { name: 'x', date: '2027-06-01T20:00:00Z' } });
    await call('POST', '/events', 403, { token: user, body: { name: 'x', date: '2027-06-01T20:00:00Z' } });
    await call('POST', '/events', 415, { token: admin, rawBody: 'name=x', headers: { 'content-type': 'text/plain' } });
    const event = await call('POST', '/events', 201, { token: admin, body: { name: 'OpenAPI Night', date: '2027-06-01T20:00:00Z', max_per_user: 4 } });
    const eventId = event.body.id as string;
    expect(event.headers.get('location')).to.equal(`/events/${eventId}`);
    await call('POST', `/events/${eventId}/ticket-category`, 201, { token: admin, body: { name: 'VIP', total_stock: 20, price: 15_000 } });
    await call('POST', `/events/${eventId}/ticket-category`, 409, { token: admin, body: { name: 'vip', total_stock: 5, price: 1 } });
    await call('POST', `/events/${randomUUID()}/ticket-category`, 404, { token: admin, body: { name: 'VIP', total_stock: 5, price: 1 } });
    await call('GET', '/events?limit=5', 200);
    await call('GET', '/events?limit=0', 400);
    await call('GET', `/events/${eventId}`, 200);
    await call('GET', `/events/${randomUUID()}`, 404);
    await call('GET', `/events/${eventId}/availability`, 200);

    // Reserve: queued (202), then decided; with Prefer: wait the decision in the same call (201).
    const queued = await call('POST', '/reserve', 202, { token: user, body: { event_id: eventId, category: 'vip', qty: 2 } });
    const firstId = queued.body.reservation_id as string;
    const decided = await call('GET', `/reservations/${firstId}?wait=20&status=queued`, 200, { token: user });
    expect(decided.body.status).to.equal('reserved');
    const held = await call('POST', '/reserve', 201, { token: user, body: { event_id: eventId, category: 'VIP', qty: 1 }, headers: { prefer: 'wait=5' } });
    await call('GET', `/reservations/${firstId}`, 200, { token: user });
    await call('GET', `/reservations/${firstId}`, 404, { token: other });
    await call('GET', `/reservations/${firstId}?wait=99`, 400, { token: user });
    await call('GET', '/reservations?limit=10', 200, { token: user });
    await call('POST', '/confirm', 200, { token: user, body: { reservation_id: firstId } });
    await call('DELETE', `/reservations/${held.body.reservation_id}`, 200, { token: user });
    await call('DELETE', `/reservations/${firstId}`, 409, { token: user });
    await call('POST', '/confirm', 409, { token: user, body: { reservation_id: held.body.reservation_id } });
    await call('POST', '/confirm', 404, { token: other, body: { reservation_id: firstId } });
    const declined = await call('POST', '/reserve', 201, { token: other, body: { event_id: eventId, category: 'vip', qty: 1 }, headers: { prefer: 'wait=5' } });
    await call('POST', '/confirm', 402, { token: other, body: { reservation_id: declined.body.reservation_id, payment_ok: false } });

    // Refusals: every bad field named at once, unknown things, a reused Idempotency-Key.
    const invalid = await call('POST', '/reserve', 400, { token: user, body: { event_id: 'nope', qty: 0, colour: 'red' } });
    expect((invalid.body.invalid_params as { name: string }[]).map((p) => p.name).sort()).to.deep.equal(['category', 'colour', 'event_id', 'qty']);
    await call('POST', '/reserve', 401, { body: { event_id: eventId, category: 'vip', qty: 1 } });
    await call('POST', '/reserve', 403, { token: admin, body: { event_id: eventId, category: 'vip', qty: 1 } });
    await call('POST', '/reserve', 404, { token: user, body: { event_id: eventId, category: 'balcony', qty: 1 } });
    const key = { 'idempotency-key': `k-${randomUUID()}` };
    await call('POST', '/reserve', 202, { token: other, body: { event_id: eventId, category: 'vip', qty: 1 }, headers: key });
    await call('POST', '/reserve', 422, { token: other, body: { event_id: eventId, category: 'vip', qty: 2 }, headers: key });

    // Operators.
    await call('GET', `/admin/events/${eventId}/queue`, 200, { token: admin });
    await call('GET', `/admin/events/${eventId}/queue`, 403, { token: user });
    const limited = await call('PUT', `/admin/events/${eventId}/queue`, 200, { token: admin, body: { max_depth: 500 } });
    expect(limited.body.max_depth).to.equal(500);
    await call('PUT', `/admin/events/${eventId}/queue`, 400, { token: admin, body: { max_depth: 0 } });
    await call('PUT', `/admin/events/${eventId}/sale`, 200, { token: admin, body: { state: 'paused' } });
    await call('POST', '/reserve', 409, { token: user, body: { event_id: eventId, category: 'vip', qty: 1 } });
    await call('PUT', `/admin/events/${eventId}/sale`, 200, { token: admin, body: { state: 'open' } });
    await call('PUT', `/admin/events/${randomUUID()}/sale`, 404, { token: admin, body: { state: 'open' } });
    // The report reads PostgreSQL (behind the persister); a 503 while busy is documented too.
    await waitFor('the fairness report', async () => {
      const res = await stack.http('GET', `/admin/events/${eventId}/fairness`, { token: admin });
      checker.check('GET', `/admin/events/${eventId}/fairness`, res);
      return res.status === 200 && res.body.requests.arrivals >= 4;
    }, 30_000);

    // The board (HTML), for an admin's bearer token; the sign-in form answers 303 with the cookie.
    await call('GET', '/admin/queues', 401);
    await call('GET', '/admin/queues', 200, { token: admin });
    const signIn = await fetch(`${stack.baseUrl}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: admin }),
    });
    expect(signIn.status).to.equal(303);
    checker.check('POST', '/admin/login', { status: signIn.status, headers: signIn.headers, body: await signIn.text() });

    // Every documented operation was exercised with a success at least once.
    const succeeded = new Set([...checker.seen].filter((s) => /\s[23]\d\d$/.test(s)).map((s) => s.replace(/\s\d{3}$/, '')));
    expect(operations(spec).map((o) => o.key).filter((k) => !succeeded.has(k)), 'operations never exercised').to.deep.equal([]);
  });
});
