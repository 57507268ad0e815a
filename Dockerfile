# Backstep API / scheduler image: production by default, non-root, no secrets baked in.
#
# One machine (embedded SQLite, in-process scheduler, data on a volume):
#   docker build -t backstep .
#   docker run -e BACKSTEP_JWT_SECRET="$(openssl rand -base64 48)" -v backstep-data:/app/var -p 8000:8000 backstep
# Scaled out (PostgreSQL, a migrate job, several API processes, schedulers): see compose.yaml.
#
# Without a real BACKSTEP_JWT_SECRET (32+ characters) the container refuses to start and
# says why: BACKSTEP_ENVIRONMENT=production refuses the development default.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY exercise_library ./exercise_library
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BACKSTEP_ENVIRONMENT=production \
    BACKSTEP_ALEMBIC_INI=/app/alembic.ini \
    DATABASE_URL=sqlite:////app/var/backstep.db
RUN groupadd --system backstep && useradd --system --gid backstep --home-dir /app --no-create-home backstep
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
# The embedded database (and its -wal/-shm files) lives on a volume, so it outlives the
# container; `backstep backup /app/var/backups/NAME.db` writes a consistent copy beside it.
RUN mkdir -p /app/var/backups && chown -R backstep:backstep /app/var
VOLUME ["/app/var"]
USER backstep
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# Migrations first (idempotent), then the API (with the in-process scheduler on SQLite).
# `exec` replaces the shell, so the API is PID 1 and `docker stop` (SIGTERM) reaches it.
CMD ["sh", "-c", "backstep migrate && exec backstep serve --host 0.0.0.0 --port 8000"]
