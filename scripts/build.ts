/**
 * npm run build: each process bundled by esbuild into one ES module in dist/ (the project's own code in
 * one file, the npm packages left in node_modules), so production runs them on plain node
 * (`node --enable-source-maps dist/gateway.mjs`): no TypeScript loader thread beside each process,
 * about 30 MB less memory each (docs/performance.md). Tests and `npm run start:*` run the sources
 * through tsx. Only transpiles: `npm run typecheck` is the type check.
 */
import { build } from 'esbuild';
import { projectPath } from '../core/paths.ts';

export const BUNDLES = {
  gateway: 'gateway/main.ts',
  shards: 'shards/main.ts',
  persister: 'persister/main.ts',
  // The fairness reports' piscina worker (core/fairness/fairness-reports.ts loads it from a bundle).
  'fairness-worker': 'core/fairness/worker.ts',
} as const;

await build({
  entryPoints: Object.fromEntries(Object.entries(BUNDLES).map(([name, entry]) => [name, projectPath(entry)])),
  outdir: projectPath('dist'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
process.stdout.write(`[build] ${Object.keys(BUNDLES).map((name) => `dist/${name}.mjs`).join(', ')}\n`);
