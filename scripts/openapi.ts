import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiSpec } from '../gateway/docs/openapi.ts';

/**
 * `npm run openapi`: writes the OpenAPI document the gateway serves at /openapi.json to `openapi.json`
 * at the repository root (the Dockerfile runs it at build time). Generated from the route files'
 * `@openapi` blocks (gateway/docs/openapi.ts); fails on a malformed block.
 */
const out = fileURLToPath(new URL('../openapi.json', import.meta.url));
const spec = buildOpenApiSpec();
writeFileSync(out, `${JSON.stringify(spec, null, 2)}\n`);
console.log(`${out}: OpenAPI ${spec.openapi}, ${Object.keys(spec.paths).length} paths, war-ticket ${spec.info.version}`);
