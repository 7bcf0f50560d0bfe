# syntax=docker/dockerfile:1
# Multi-stage build of wechat-login. The steps are the ones CI runs for real
# (.ci/run: npm ci; test/build/build.test.ts: npm run build, then node dist/main.js),
# since Docker itself cannot run on the CI machine. Keep them identical.
# test/deploy/samples.test.ts checks that every COPY source exists and that
# .dockerignore (an allowlist) lets it through.
#
# Node 22 LTS: Node 20 is past its end of life. Both stages use the same image,
# so that better-sqlite3's native module is built for the Node that runs it.
# (package.json's engines stays >=20.8: the code and CI also run on Node 20.)

FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 may need to compile when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.migrations.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build
# Only what runs: no TypeScript compiler, no test tools.
RUN npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
# The code is root's and read-only to the user the server runs as: a compromised
# process cannot rewrite its own code, templates or dependencies.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY views ./views
COPY static ./static
# The one writable place: ./data, the default SQLite folder (DATABASE_URL unset or
# sqlite:./data/…). compose.yaml uses MySQL and writes nothing here; to keep a
# SQLite database, mount a volume on /app/data.
RUN mkdir /app/data && chown node:node /app/data
# The image's own unprivileged user.
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Migrations: docker compose runs `npm run migrate:built` once before the servers (see compose.yaml).
CMD ["node", "dist/main.js"]
