# Backstep API / scheduler image.
#   docker build -t backstep .
#   docker run -e DATABASE_URL=postgresql+psycopg://... -e BACKSTEP_JWT_SECRET=... -p 8000:8000 backstep
#   docker run -e DATABASE_URL=... backstep backstep scheduler      # the same image, as the scheduler
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
    BACKSTEP_ALEMBIC_INI=/app/alembic.ini
RUN groupadd --system backstep && useradd --system --gid backstep --home-dir /app --no-create-home backstep
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
RUN mkdir -p /app/var && chown backstep:backstep /app/var
USER backstep
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Migrations first (idempotent), then the API; override the command to run `backstep scheduler`.
CMD ["sh", "-c", "backstep migrate && exec backstep serve --host 0.0.0.0 --port 8000"]
