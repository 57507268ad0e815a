from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from api.activity import record_log_dates
from api.audit import record_audit
from api.clock import local_today
from api.deps import CurrentPatient, NowDep, PatientWriter, SessionDep, SettingsDep
from api.errors import Problem
from api.inputs import checked_per_item
from api.pain_logs.evaluation import FlarePublic, after_logs_written, current_plan, replay_triage
from api.pain_logs.listing import pain_log_page
from api.pain_logs.schemas import PainLogPublic, PainLogWrite, TriagePublic
from api.pain_logs.service import check_client_time, check_log_date, upsert_pain_log
from api.pain_logs.sync import SyncRequest, SyncResponse, run_sync
from api.plans.schemas import PlanPublic
from api.schemas import IsoDate, Limit, Page, Public

router = APIRouter(tags=["pain logs"])


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"content": {"application/problem+json": {}}} for code in codes}


class PainLogResponse(Public):
    log: PainLogPublic
    triage: TriagePublic = Field(description="safety advice for this log: show it to the patient at once")
    plan: PlanPublic | None = Field(description="the plan after this log (paused, reduced...); null before STarT Back")
    flare: FlarePublic | None = Field(
        default=None, description="present when the log started or continued a flare: lighter plan, red flags re-asked"
    )


@router.put(
    "/me/pain-logs/{log_date}",
    response_model=PainLogResponse,
    status_code=status.HTTP_200_OK,
    responses={
        201: {"model": PainLogResponse, "description": "created"},
        409: {
            "content": {"application/problem+json": {}},
            "description": "stale: a newer edit is stored; the problem's `log` is the stored log",
        },
        **_problems(422),
    },
)
def put_pain_log(
    log_date: IsoDate,
    body: PainLogWrite,
    caller: PatientWriter,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> PainLogResponse:
    """Create or update the log of a local date (today, or up to 30 days back).

    201 created; 200 updated, or unchanged for a replay (nothing written, the same triage
    returned); 409 when a newer edit (``client_updated_at``) is already stored.
    """
    user, patient = caller.user, caller.patient
    check_log_date(log_date, local_today(patient.timezone, now), ["path", "log_date"])
    check_client_time(body, now, ["body", "client_updated_at"])
    written = upsert_pain_log(session, patient, log_date, body, now)
    if written.status == "stale":
        raise Problem(
            409,
            "stale_write",
            "a newer version of this log is stored; the stored log is attached",
            extra={"log": PainLogPublic.of(written.log).model_dump(mode="json", by_alias=True)},
        )
    flare = None
    if written.changed:
        # One statement updates the (already locked) patient row and loads what the rules read.
        after = after_logs_written(session, patient, [written.log], now, settings.rules)
        triage, flare, plan = after.triage, after.flare, after.plan
    else:
        if written.wrote:
            record_log_dates(session, patient, [log_date], now)
        triage = replay_triage(session, patient, [written.log], now, settings.rules)
        plan = current_plan(session, patient)
    if written.wrote:
        record_audit(
            session,
            at=now,
            action="create" if written.status == "created" else "update",
            resource=f"pain_log/{written.log.id}",
            actor=user,
            patient_id=patient.id,
            detail={"status": written.status, "tier": triage.tier},
        )
    if written.status == "created":
        response.status_code = status.HTTP_201_CREATED
    return PainLogResponse(log=PainLogPublic.of(written.log), triage=triage, plan=plan, flare=flare)


@router.get("/me/pain-logs", response_model=Page[PainLogPublic], responses=_problems(422))
def list_pain_logs(
    patient: CurrentPatient,
    session: SessionDep,
    from_: Annotated[IsoDate | None, Query(alias="from", description="first local date (inclusive)")] = None,
    to: Annotated[IsoDate | None, Query(description="last local date (inclusive)")] = None,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[PainLogPublic]:
    """The patient's logs by local date, newest first, within ``from``..``to`` (at most 366 days)."""
    return pain_log_page(session, patient, from_, to, limit, cursor)


@router.post("/me/sync", response_model=SyncResponse, responses=_problems(413, 422))
@checked_per_item("pain_logs", "exercise_sessions")
def sync(
    body: SyncRequest,
    caller: PatientWriter,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> SyncResponse:
    """Apply the app's offline queue: up to 500 pain logs and sessions, one result per item.

    Each item is created / updated / unchanged (a replay) / stale (a newer edit is
    stored; the stored log is attached) / rejected (with the same errors its own
    endpoint would give). One bad item never rejects the batch. The rules run once over
    everything the batch changed; the most urgent triage of the batch is returned.
    """
    return run_sync(session, caller.user, caller.patient, body, now, settings.rules)
