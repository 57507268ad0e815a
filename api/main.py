"""The application factory and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.admin.dead_letters import router as dead_letters_router
from api.admin.router import router as admin_router
from api.alerts.router import router as alerts_router
from api.auth.mfa_router import router as mfa_router
from api.auth.router import router as auth_router
from api.care_team.router import router as unassigned_router
from api.clinicians.patients_router import router as clinician_patients_router
from api.clinicians.router import router as clinicians_router
from api.clock import Clock
from api.config import Settings, get_settings
from api.dashboard.router import install_dashboard
from api.db import DEFERRED_BEGIN, make_engine, make_probe_engine
from api.errors import Problem, install_error_handlers, problem_response
from api.exercises.router import router as exercises_router
from api.exports.identifier import router as identifier_router
from api.exports.router import router as exports_router
from api.inputs import check_request_input
from api.jobs import JobContext
from api.logs import configure_logging
from api.messages.router import router as messages_router
from api.middleware import BodySizeLimitMiddleware, ConcurrencyLimitMiddleware, RequestContextMiddleware
from api.migrations import head_revision
from api.notifications.router import router as notifications_router
from api.observability.exposition import mark_process_dead
from api.observability.metrics import instrument_pool, release_pool
from api.observability.tracing import instrument_app, provider_from_env
from api.openapi import finish_openapi, operation_id
from api.outcomes.router import router as outcomes_router
from api.pain_logs.router import router as pain_logs_router
from api.patients.router import router as patients_router
from api.plans.clinician_router import router as plan_clinician_router
from api.plans.router import router as plans_router
from api.problem_docs import document_problems
from api.reminders.router import router as reminders_router
from api.scheduler import build_scheduler
from api.screenings.router import router as screenings_router
from api.sessions.router import router as sessions_router
from exercise_library.loader import get_library

API_PREFIX = "/api/v1"
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
_log = structlog.get_logger("api.main")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = make_engine(settings)
    probe_engine = make_probe_engine(settings)  # /readyz: never behind the request pool
    clock = Clock(engine, test_clock_enabled=settings.allow_test_clock, cache_seconds=settings.clock_cache_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        get_library()  # a broken exercise library must stop the start-up, not the first request
        instrument_pool(engine, "main")
        scheduler = None
        if settings.run_scheduler_in_process:
            scheduler = build_scheduler(JobContext(engine, settings, clock), blocking=False)
            scheduler.start()
        _log.info(
            "started",
            environment=settings.environment,
            scheduler_in_process=scheduler is not None,
            test_clock=settings.allow_test_clock,
        )
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            engine.dispose()
            probe_engine.dispose()
            release_pool(engine, "main")
            mark_process_dead()  # a stopping `serve --workers N` worker leaves the live gauges

    app = FastAPI(
        title="Backstep API",
        version="1.0.0",
        summary="Back-pain self-management: pain logs, graded exercise plans, escalation to physiotherapists.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        generate_unique_id_function=operation_id,
        # Every route: text the database cannot store and duplicate JSON keys are a 422.
        dependencies=[Depends(check_request_input)],
        # FastAPI's own OpenTelemetry is off: traces come from api.observability.tracing,
        # which keeps raw paths and queries off spans, and its logs would carry exception
        # messages (input values) to wherever a global log provider points.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.probe_engine = probe_engine
    app.state.clock = clock
    app.state.head_revision = head_revision(settings)

    tracer_provider = provider_from_env()
    if tracer_provider is not None:  # OTEL_* variables ask for traces
        instrument_app(app, [engine], tracer_provider)

    install_error_handlers(app)
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        limit=settings.max_concurrent_requests,
        queue_seconds=settings.request_queue_seconds,
        exempt=HEALTH_PATHS,  # probes answer even when every request slot is taken
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    if settings.trusted_proxy_list:
        # Outermost, and the only place X-Forwarded-For/-Proto are believed: from these peers
        # alone, whatever server runs the app (`backstep serve` turns uvicorn's own off).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)

    api = APIRouter(prefix=API_PREFIX)
    for router in (
        auth_router,
        mfa_router,
        patients_router,
        clinicians_router,
        clinician_patients_router,
        outcomes_router,
        exports_router,
        identifier_router,
        admin_router,
        dead_letters_router,
        unassigned_router,
        exercises_router,
        plans_router,
        plan_clinician_router,
        reminders_router,
        notifications_router,
        sessions_router,
        screenings_router,
        pain_logs_router,
        alerts_router,
        messages_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(_health_router())
    install_dashboard(app)  # web pages for clinicians under /dashboard (not in the OpenAPI schema)
    document_problems(app)
    finish_openapi(app)  # after the problems: it prunes and rewrites the finished document
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers (on the event loop: no worker thread needed)."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"content": {"application/problem+json": {}}}})
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the database answers and is at the latest migration."""
        expected = request.app.state.head_revision
        try:
            with request.app.state.probe_engine.connect() as connection:
                connection.execution_options(**DEFERRED_BEGIN)
                current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            return _not_ready("database unreachable or not migrated")
        if current != expected:
            return _not_ready(f"database at migration {current}, expected {expected}")
        return JSONResponse({"status": "ready", "migration": current})

    return router


def _not_ready(detail: str) -> JSONResponse:
    return problem_response(Problem(503, "not_ready", detail))
