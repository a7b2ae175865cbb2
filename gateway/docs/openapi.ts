import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectPath } from '../../core/paths.ts';
import { isDeepStrictEqual } from 'node:util';
import swaggerJsdoc from 'swagger-jsdoc';
import { REQUEST_SCHEMAS } from '../schemas.ts';
import { HEADERS, PARAMETERS, RESPONSES, SECURITY_SCHEMES } from './components.ts';
import { RESPONSE_SCHEMAS } from './response-schemas.ts';

/** The OpenAPI 3.0 document, as much of it as the gateway and its tests read. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; [kind: string]: Record<string, unknown> };
  [key: string]: unknown;
}

const here = (path: string) => join(projectPath('gateway', 'docs'), path);

/**
 * The files whose `@openapi` JSDoc blocks describe the routes, found from this module (so the spec is
 * the same from any working directory): every route file, the board's and the documentation's own.
 */
export function routeFiles(): string[] {
  const routes = readdirSync(here('../routes/')).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts')).sort();
  return [...routes.map((name) => here(`../routes/${name}`)), here('../admin/board.ts'), here('./docs-routes.ts')];
}

const DESCRIPTION = `A backend for selling concert tickets in a ticket war: it never sells a seat twice, never loses a
request it accepted, and decides requests first come, first served.

A reserve is admitted into the event's queue (\`202\`, then poll or long-poll the reservation, or wait in the
same call with \`Prefer: wait=N\`); a hold is confirmed with a (simulated) payment, cancelled, or expires.

- **Tokens**: \`Authorization: Bearer <JWT>\` (HS256, claims \`sub\`, \`role\` = \`admin\` | \`user\`, \`exp\`).
- **Errors** are \`application/problem+json\` with a stable \`code\`; a 400 names every bad field in
  \`invalid_params\`. Checks run in this order: 401, 403, 400, 404, 409/429. Any operation may also answer
  \`500 internal_error\`.
- **Rate limits**: every route but \`/health\`, \`/ready\`, \`/metrics\` and this documentation counts against
  the client IP's limit, and every authenticated route against the user's (\`429 rate_limited\`).
- **Correlation**: every response carries \`X-Request-Id\` (yours when it is a plain token).

Generated from the route files' \`@openapi\` blocks by swagger-jsdoc; the request body schemas are the
very objects the gateway validates with.`;

function packageVersion(): string {
  return (JSON.parse(readFileSync(here('../../package.json'), 'utf8')) as { version: string }).version;
}

function baseDefinition() {
  return {
    openapi: '3.0.3',
    info: { title: 'war-ticket', version: packageVersion(), description: DESCRIPTION, license: { name: 'MIT' } },
    servers: [{ url: '/' }],
    tags: [
      { name: 'Events', description: 'Events and their ticket categories (admins write, anyone reads)' },
      { name: 'Reservations', description: 'Reserve, poll, confirm and cancel (users)' },
      { name: 'Operators', description: 'Sale switch, queue limits and the fairness report (admins)' },
      { name: 'Admin UI', description: 'The Bull Board and its sign-in page (admins, in a browser)' },
      { name: 'Operations', description: 'Health, readiness and metrics (never rate limited)' },
      { name: 'Documentation', description: 'This document and Swagger UI (never rate limited)' },
    ],
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: { ...REQUEST_SCHEMAS, ...RESPONSE_SCHEMAS },
      parameters: PARAMETERS,
      headers: HEADERS,
      responses: RESPONSES,
    },
  };
}

/**
 * Builds the OpenAPI 3.0.3 document from the route files' `@openapi` JSDoc blocks (swagger-jsdoc) and
 * the components above. swagger-jsdoc works on a deep copy of the definition, so the request schemas
 * are put back afterwards: `components.schemas.Reserve` IS `reserveSchema`, the object ajv validates
 * with. A JSDoc block that tried to change one of them is an error (change gateway/schemas.ts).
 * Throws on a malformed block. Reads a few files synchronously: call it once, at app creation.
 */
export function buildOpenApiSpec(): OpenApiDocument {
  const spec = swaggerJsdoc({ definition: baseDefinition(), apis: routeFiles(), failOnErrors: true }) as OpenApiDocument;
  for (const [name, schema] of Object.entries(REQUEST_SCHEMAS)) {
    if (!isDeepStrictEqual(spec.components.schemas[name], schema)) {
      throw new Error(`an @openapi block changes the request schema ${name}: change it in gateway/schemas.ts instead`);
    }
    spec.components.schemas[name] = schema;
  }
  return spec;
}
