# syntax=docker/dockerfile:1
# Stage 1: GraphiQL's browser assets from the npm lock file.
FROM node:20-bookworm-slim AS assets
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
 && mkdir /vendor \
 && cp node_modules/react/umd/react.production.min.js \
       node_modules/react-dom/umd/react-dom.production.min.js \
       node_modules/graphiql/graphiql.min.js node_modules/graphiql/graphiql.min.css \
       node_modules/graphql-ws/umd/graphql-ws.min.js /vendor/

# Stage 2: the virtual environment from uv.lock.
FROM python:3.13-slim-bookworm AS build
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
ENV UV_PROJECT_ENVIRONMENT=/app/.venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY kabinet ./kabinet
RUN uv sync --frozen --no-dev

# Stage 3: the runtime image, non-root.
FROM python:3.13-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /app kabinet
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/kabinet /app/kabinet
COPY --from=assets /vendor /app/kabinet/static/vendor
ENV PATH=/app/.venv/bin:$PATH KABINET_HOST=0.0.0.0 KABINET_DATA_DIR=/data \
    KABINET_ENV=production PYTHONUNBUFFERED=1
RUN mkdir /data && chown kabinet /data
USER kabinet
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["kabinet", "serve"]
