# BookFast API image. Build: `docker build -t bookfast .`
# Run: `docker run -p 8000:8000 -e SECRET_KEY=... [-e DATABASE_URL=...] [-v bookfast-data:/app/data] bookfast`
# Without DATABASE_URL it uses the embedded database in /app/data (mount a volume there to keep it).

# --- build: compile TypeScript with the dev dependencies, which the runtime image leaves out ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package*.json changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# src/cli is compiled too: `node dist/src/cli/promote-user.js <email> <role>` in the container.
# The web box office (served at /app/) is built by Vite in the same `npm run build`.
COPY web ./web
COPY client ./client
RUN npm run build

# --- runtime: production dependencies, compiled code and migrations only ---
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# bcrypt is native, but ships prebuilt binaries for linux-x64/arm64 glibc (this Debian image), so no
# compiler is needed. On another platform or libc it would build from source and need python3, make, g++.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Layout matters: dist/src/db/client.js looks for drizzle/meta/_journal.json in an ancestor folder,
# so the migrations must be /app/drizzle beside /app/dist. server.ts applies them before listening.
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY drizzle ./drizzle
# Code stays root-owned (read-only to the app); only the data folder is writable by the `node` user.
RUN mkdir -p /app/data && chown node:node /app/data
ENV DATA_DIR=/app/data PORT=8000 HOST=0.0.0.0
USER node
EXPOSE 8000
# node directly, not `npm start`: its prestart would rebuild, and npm would stand between node and SIGTERM.
# A 64 MB young generation: the booking path allocates briefly per request; see README "Benchmark".
CMD ["node", "--max-semi-space-size=64", "dist/src/server.js"]
