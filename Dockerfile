# syntax=docker/dockerfile:1
# The kabinet API: `docker build -t kabinet .`, then see docker-compose.yml and
# docs/deployment.md. tests/test_dockerfile.py lints this file with hadolint and
# runs its npm, uv, CMD and HEALTHCHECK commands in a fresh directory.

# Stage 1: GraphiQL's browser assets from the npm lock file (served by the app,
# so GraphiQL works without internet access).
FROM node:24.20-trixie-slim AS assets
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && mkdir vendor \
 && cp node_modules/react/umd/react.production.min.js \
       node_modules/react-dom/umd/react-dom.production.min.js \
       node_modules/graphiql/graphiql.min.js node_modules/graphiql/graphiql.min.css \
       node_modules/graphql-ws/umd/graphql-ws.min.js vendor/

# Stage 2: the virtual environment from uv.lock, without the dev group, with
# kabinet installed into it (not editable), so the runtime needs nothing else.
FROM python:3.13.13-slim-trixie AS build
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY kabinet ./kabinet
COPY --from=assets /web/vendor ./kabinet/static/vendor
RUN uv sync --frozen --no-dev --no-editable

# Stage 3: the runtime, non-root. The virtual environment keeps its path
# (/app/.venv), so its scripts' shebangs stay valid.
FROM python:3.13.13-slim-trixie
RUN groupadd --system --gid 10001 kabinet \
 && useradd --system --uid 10001 --gid kabinet --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin kabinet \
 && mkdir /data && chown 10001:10001 /data
COPY --from=build /app/.venv /app/.venv
# Every KABINET_* variable is listed in docs/deployment.md. Set at least
# KABINET_MONGODB_URI (else the embedded database keeps its file in /data),
# KABINET_PUBLIC_URL, KABINET_SMTP_* and KABINET_SMS_GATEWAY_*.
# Behind a proxy: X-Forwarded-For/-Proto are believed only from the addresses in
# KABINET_FORWARDED_ALLOW_IPS (default: nobody); set it to the proxy's address or
# network, or per-IP rate limits count every client as the proxy.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KABINET_ENV=production \
    KABINET_HOST=0.0.0.0 \
    KABINET_PORT=8000 \
    KABINET_DATA_DIR=/data
WORKDIR /app
USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]
# Liveness: the process answers. Readiness (database reachable, events flowing) is /readyz, which
# the proxy checks before it sends a replica traffic.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['KABINET_PORT'] + '/healthz', timeout=4)"]
CMD ["kabinet", "serve"]
