# A slim image that runs as a non-root user, migrates on start and serves
# with uvicorn. DATABASE_URL points it at PostgreSQL in production; without
# it the service keeps a SQLite file in the /srv/data volume.
# Browser assets from npm, pinned by package-lock.json.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev

FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVIRONMENT=production \
    DATABASE_URL=sqlite:////srv/data/hie.db

WORKDIR /srv
COPY pyproject.toml requirements.lock README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY scripts ./scripts
COPY --from=assets /build/node_modules ./node_modules
# Editable, so that the package finds migrations/ beside it, where Alembic reads them.
RUN pip install -c requirements.lock -e . \
    && python scripts/vendor.py && rm -rf node_modules \
    && useradd --create-home --uid 10001 hie \
    && mkdir -p /srv/data && chown hie /srv/data

USER hie
VOLUME ["/srv/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["sh", "-c", "hie migrate && exec hie serve --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-2}"]
