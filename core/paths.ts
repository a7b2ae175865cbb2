import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root folder (the one with package.json), found upwards from this module, so the same
 * code finds the project's own files (the Lua scripts, the route files' OpenAPI blocks, the built
 * worker) whether it runs from its sources (tsx) or from a bundle in dist/ (`npm run build`).
 */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the project, from its root: projectPath('core', 'lua'). */
export const projectPath = (...parts: string[]): string => join(PROJECT_ROOT, ...parts);

/** True in a bundle built by `npm run build` (dist/*.mjs), false when running the TypeScript sources. */
export const IS_BUNDLED = !import.meta.url.endsWith('.ts');
