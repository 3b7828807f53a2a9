# syntax=docker/dockerfile:1
#
# cua-mcp-server: the MCP server with its real Xvfb desktops (COMPUTER_PROVIDER=xvfb).
#
#   docker build -t cua-mcp-server:0.1.0 .
#   docker run --rm -p 3000:3000 -e API_KEYS=change-me-please:alice \
#     --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#     --security-opt systempaths=unconfined cua-mcp-server:0.1.0
#
# The three --security-opt flags are what bubblewrap needs to sandbox each desktop from this
# non-root user: unshare() of a user namespace (blocked by the default seccomp profile), mount()
# inside it (denied by the default AppArmor profile) and a fresh /proc (refused by the kernel while
# the runtime masks paths of /proc). COMPUTER_PROVIDER=fake needs none of them. See the README's
# "Kubernetes" section for the same in a cluster.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- 1. every dependency, from the lock file ---------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- 2. compile TypeScript to dist/ ------------------------------------------------------------
FROM deps AS build
COPY tsconfig.json nest-cli.json ./
COPY src ./src
RUN npm run build

# --- 3. production dependencies only (no TypeScript, Jest, ESLint ...) -------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- 4. runtime --------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# The desktop stack of the xvfb provider and ffmpeg for recordings (the same list as
# scripts/setup.sh), and tini, which runs as PID 1: it forwards SIGTERM to node and reaps every
# orphaned desktop process.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tini xvfb openbox xterm xauth bubblewrap x11-utils xdotool xclip fonts-dejavu-core passt nftables \
      tint2 firefox-esr mousepad pcmanfm mupdf xdg-utils x11-xserver-utils tigervnc-scraping-server ffmpeg \
 && rm -rf /var/lib/apt/lists/*

# A numeric non-root user of its own (the image's `node` user keeps uid 1000). bubblewrap is not
# setuid here: each desktop runs in an unprivileged user namespace, as uid 1000 inside it.
RUN groupadd --gid 10001 cua \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cua

WORKDIR /app
# Code and dependencies belong to root and are read-only for the server.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./

# In a container the server must listen on every address; set API_KEYS or API_KEYS_FILE.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000

USER 10001:10001
EXPOSE 3000

# For docker and compose (Kubernetes uses the chart's probes instead). No curl in a slim image:
# node's own fetch asks for liveness on the port the server listens on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
