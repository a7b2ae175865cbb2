# One image for every war-ticket process; docker-compose.yml chooses the process with `command`:
#   node --enable-source-maps --max-old-space-size=512 --heap-growing-percent=100 dist/gateway.mjs
#   node --enable-source-maps --max-old-space-size=512 dist/shards.mjs | dist/persister.mjs
#   node --import tsx scripts/migrate.ts (the one-shot migrations, and scripts/token.ts)
# The long-running processes run their bundles (`npm run build`: esbuild, the project's code in one file
# each, the packages from node_modules) on plain node, as `npm run stack` does: no TypeScript loader
# thread beside each, ~30 MB less memory. The build stage also proves the sources type-check and writes
# openapi.json.

# --- build: every dependency, the type-check, the OpenAPI document ---------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
# The whole context (less .dockerignore): tsconfig.json covers the tests and scripts too.
COPY . .
RUN npx tsc -p tsconfig.json --noEmit
# Writes openapi.json at the root from the route files (swagger-jsdoc).
RUN npm run openapi
# dist/gateway.mjs, dist/shards.mjs, dist/persister.mjs, dist/fairness-worker.mjs
RUN npm run build

# --- runtime: production dependencies and the sources the processes load --------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# tsx is a production dependency: it runs the migrations and the token script.
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force
COPY tsconfig.json ./
COPY core ./core
COPY gateway ./gateway
COPY shards ./shards
COPY persister ./persister
COPY migrations ./migrations
# migrate.ts for the one-shot migrate service; token.ts for `docker compose exec gateway ... --role=admin`.
COPY scripts/migrate.ts scripts/token.ts ./scripts/
COPY --from=build /app/openapi.json ./openapi.json
# The bundles; they read the Lua scripts (core/lua) and the route files' OpenAPI blocks from the sources.
COPY --from=build /app/dist ./dist
# Tests are not shipped (they import dev dependencies). The files stay owned by root: read-only to
# the processes, which run as the image's unprivileged `node` user.
RUN find core gateway shards persister -name '*.test.ts' -delete
USER node
# gateway (PORT), shard ops (SHARD_PORT), persister ops (PERSISTER_PORT)
EXPOSE 8080 9101 9102
