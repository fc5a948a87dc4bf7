# syntax=docker/dockerfile:1
# makima's server image (README, "Running in production"): built from this repository in two stages.
# The build stage installs every dependency without install scripts (Prisma's client is generated
# offline by `npm run generate`, see scripts/generate.mjs), compiles src/ to dist/, bundles the
# browser view (web/src to web/dist) and drops the development dependencies; the runtime stage holds
# only what `makima serve` runs, as a non-root user. No Docker engine runs in CI:
# scripts/replay-dockerfile.mjs replays this file without one (docs/notes/house-ci.md).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json codegen.ts prisma.config.ts schema.graphql ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
COPY web ./web
RUN npm run generate \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
# git: worktrees, checkpoints and branches are made with the git command line (src/git).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    MAKIMA_DATA_DIR=/var/lib/makima \
    MAKIMA_REPOS_ROOT=/repos \
    MAKIMA_WORKTREES_DIR=/worktrees
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/prisma/migrations ./prisma/migrations
COPY LICENSE README.md ./
# The image's `node` user (uid 1000) owns the data directory, the repositories and the worktrees;
# named volumes mounted there start out with this ownership.
RUN mkdir -p /var/lib/makima /repos /worktrees \
 && chown node:node /var/lib/makima /repos /worktrees
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
