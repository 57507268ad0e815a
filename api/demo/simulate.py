"""Replays the demo stories through the real services, day by day, on the application clock.

Every step is what a real request or job does at that instant: registration with the
physiotherapist's invite code, the profile, the screenings, each evening's pain log and
exercise session (one offline sync, as the app sends it), the physiotherapist's actions
(alerts lifecycle, plan override) and, every night at 03:17 in each time zone, the
scheduler's sweep (escalation rules and weekly plan reviews). Events are replayed in
time order, each in its own transaction like the request it stands for; events that
would fall after "now" today are moved to earlier the same day.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.alerts.lifecycle import acknowledge_alert, resolve_alert
from api.auth.schemas import RegisterRequest
from api.auth.service import register
from api.clinicians.invites import new_invite
from api.config import Settings
from api.db import session_scope
from api.demo.stories import Act, Day, DemoMessage, Story
from api.jobs import JobContext, run_job
from api.messages.schemas import MessageCreate
from api.messages.service import mark_read, send_message
from api.models import Alert, AlertStatus, Message, Patient, Plan, User
from api.pain_logs.sync import SyncRequest, run_sync
from api.patients.profile import update_profile
from api.patients.schemas import MeUpdate
from api.plans.overrides import override_plan
from api.plans.schemas import PlanOverride
from api.rules.progression import planned_weekdays
from api.rules.types import Symptom
from api.screenings.schemas import ScreeningCreate
from api.screenings.service import record_screening

SWEEP_AT = time(11, 17)
_SCREENING = TypeAdapter[Any](ScreeningCreate)
_NAMESPACE = uuid.UUID("7b0f5f38-3c2e-4d8b-9f39-5c1d1f7e2b10")
START_BACK = {
    "low": {**{f"q{i}": False for i in range(1, 9)}, "q9": "slightly"},
    "medium": {**{f"q{i}": i <= 4 for i in range(1, 9)}, "q9": "moderately"},
    "high": {**{f"q{i}": i >= 5 for i in range(1, 9)}, "q9": "very_much"},
}


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    run: Callable[[Session], None] | None = field(compare=False)  # None: the nightly sweep


@dataclass
class Simulation:
    engine: Engine
    settings: Settings
    context: JobContext
    now: datetime
    clinicians: list[User]
    patient_password_hash: str
    patients: dict[str, int] = field(default_factory=dict)  # story key -> patient id
    events: list[_Event] = field(default_factory=list)

    def at(self, story: Story, day: int, moment: time) -> datetime:
        """The instant of ``moment`` (patient's time) on programme day ``day``.

        Today's events still ahead (the evening log at 20:00 in the morning) happen now
        instead: halfway between the local midnight and now, so still today, whatever the time.
        """
        zone = ZoneInfo(story.timezone)
        today = self.now.astimezone(zone).date()
        on = today - timedelta(days=story.length - 1 - day)
        instant = datetime.combine(on, moment, zone)
        if instant <= self.now:
            return instant
        midnight = datetime.combine(today, time(0), zone)
        return midnight + (self.now - midnight) / 2

    def add(self, at: datetime, run: Callable[[Session], None] | None) -> None:
        self.events.append(_Event(at, len(self.events), run))

    def plan_stories(self, stories: tuple[Story, ...], email_domain: str, password: str) -> None:
        for story in stories:
            self.add(
                self.at(story, 0, time(9)), partial(self.enrol, story=story, domain=email_domain, password=password)
            )
            for index, day in enumerate(story.days):
                evening = self.at(story, index, time(20))
                self.add(evening, partial(self.evening, story=story, index=index, day=day))
            for act in story.acts:
                self.add(self.at(story, act.day, time(10)), partial(self.act, story=story, act=act))
            for n, message in enumerate(story.messages):
                at = self.at(story, story.length - 1 + message.day, time(message.hour))
                self.add(at, partial(self.message, story=story, message=message, n=n, at=at))
        # The scheduler sweeps every hour; once a day at 11:17 UTC stands for it: then every
        # demo zone (UTC-8 to UTC+11) has passed 03:17 and not yet 22:17 of the same local date.
        first = min(self.now - timedelta(days=story.length) for story in stories).date()
        for offset in range((self.now.date() - first).days + 1):
            instant = datetime.combine(first + timedelta(days=offset), SWEEP_AT, UTC)
            if instant <= self.now:
                self.add(instant, None)

    def run(self) -> None:
        """Replay the events in time order: the day's requests, then the sweep, day after day.

        Requests between two sweeps share one transaction (each flushes as its request
        would): a demo clinic is built in seconds rather than one commit per request.
        """
        pending: list[_Event] = []
        for event in [*sorted(self.events), _Event(self.now, len(self.events), None)]:
            if event.run is not None:
                pending.append(event)
                continue
            with session_scope(self.engine) as session:
                for work in pending:
                    assert work.run is not None
                    work.run(session)
            pending = []
            run_job("sweep", self.context, event.at)

    # --- the steps ---------------------------------------------------------------------

    def enrol(self, session: Session, story: Story, domain: str, password: str) -> None:
        at = self.at(story, 0, time(9))
        invite = new_invite(session, self.clinicians[story.physio], at, self.settings)
        body = RegisterRequest(
            email=f"{story.key}@{domain}", password=password, display_name=story.name, invite_code=invite.code
        )
        # Cheap hashing for the throwaway password; the shared real hash replaces it below.
        cheap = self.settings.model_copy(update={"argon2_time_cost": 1, "argon2_memory_cost": 64})
        user, patient = register(session, body, at, cheap)
        # One real argon2 hash for every demo patient (they share the demo password).
        user.password_hash = self.patient_password_hash
        assert patient.id is not None
        self.patients[story.key] = patient.id
        episode = (at - timedelta(days=10)).astimezone(ZoneInfo(story.timezone)).date()
        profile = MeUpdate.model_validate(
            {
                "timezone": story.timezone,
                "birth_year": story.birth_year,
                "cancer_history": story.cancer_history,
                "osteoporosis_or_steroids": story.osteoporosis_or_steroids,
                "episode_started_on": episode.isoformat(),
            }
        )
        update_profile(session, user, patient, profile, at, self.settings.rules)
        red_flags = {s.value: s.value in story.red_flags for s in Symptom}
        odi = {f"s{i}": 1 + (i + len(story.key)) % 3 for i in range(1, 11)}
        for raw in (
            {"instrument": "start_back", "answers": START_BACK[story.risk]},
            {"instrument": "red_flags", "answers": red_flags},
            {"instrument": "odi", "answers": odi},
        ):
            record_screening(session, user, patient, _SCREENING.validate_python(raw), at, self.settings.rules)

    def evening(self, session: Session, story: Story, index: int, day: Day) -> None:
        at = self.at(story, index, time(20))
        zone = ZoneInfo(story.timezone)
        on = at.astimezone(zone).date()
        patient = session.get(Patient, self.patients[story.key])
        assert patient is not None
        user = session.get(User, patient.user_id)
        assert user is not None
        body: dict[str, Any] = {"pain_logs": [], "exercise_sessions": []}
        if day.back is not None:
            body["pain_logs"].append(_log(day, on, at))
        plan = session.exec(select(Plan).where(Plan.patient_id == patient.id)).first()
        if day.session_pain is not None and _planned(plan, on):
            body["exercise_sessions"].append(_session(story, day, min(at, datetime.combine(on, time(18), zone))))
        if not body["pain_logs"] and not body["exercise_sessions"]:
            return
        result = run_sync(session, user, patient, SyncRequest.model_validate(body), at, self.settings.rules)
        refused = [r for r in result.results if r.status == "rejected"]
        if refused:
            raise RuntimeError(f"demo data refused for {story.key} on {on}: {refused[0].error}")

    def act(self, session: Session, story: Story, act: Act) -> None:
        at = self.at(story, act.day, time(10))
        clinician = self.clinicians[story.physio]
        staff = session.get(User, clinician.id)
        patient = session.get(Patient, self.patients[story.key])
        assert staff is not None and patient is not None
        if act.kind in ("acknowledge", "resolve"):
            alert = session.exec(
                select(Alert).where(
                    Alert.patient_id == patient.id, Alert.rule == act.rule, Alert.status != AlertStatus.RESOLVED
                )
            ).first()
            if alert is None:
                raise RuntimeError(f"demo story {story.key}: no open {act.rule} alert on day {act.day}")
            assert alert.id is not None
            if act.kind == "acknowledge":
                acknowledge_alert(session, staff, alert.id, act.note, at)
            else:
                resolve_alert(session, staff, alert.id, act.note, at)
            return
        change = PlanOverride(action=act.kind, reason=act.note, level=act.level)
        override_plan(session, staff, patient, change, at, self.settings)

    def message(self, session: Session, story: Story, message: DemoMessage, n: int, at: datetime) -> None:
        patient = session.get(Patient, self.patients[story.key])
        assert patient is not None and patient.id is not None
        author = session.get(User, patient.user_id if message.from_patient else self.clinicians[story.physio].id)
        assert author is not None
        client_id = uuid.uuid5(_NAMESPACE, f"{story.key}/message/{n}")
        if not message.from_patient:
            last = session.exec(
                select(Message.id).where(Message.patient_id == patient.id).order_by(col(Message.id).desc())
            ).first()
            if last is not None:
                mark_read(session, author, patient, last, at)
        body = MessageCreate.model_validate({"body": message.text, "client_id": str(client_id)})
        send_message(session, author, patient, body, at, self.settings.rules)


def _planned(plan: Plan | None, on: date) -> bool:
    return plan is not None and plan.status != "paused" and on.weekday() in planned_weekdays(plan.sessions_per_week)


def _log(day: Day, on: date, at: datetime) -> dict[str, Any]:
    log: dict[str, Any] = {
        "log_date": on.isoformat(),
        "back_pain": day.back,
        "flare": day.flare,
        "activity_minutes": 25,
        "symptoms": dict.fromkeys(day.symptoms, True),
        "medications": [{"class": "muscle_relaxant"}] if day.relaxant else [],
        "client_updated_at": at.isoformat(),
    }
    if day.leg is not None:
        log["leg_pain"] = day.leg
    if day.note is not None:
        log["note"] = day.note
    return log


def _session(story: Story, day: Day, performed_at: datetime) -> dict[str, Any]:
    assert day.session_pain is not None
    return {
        "id": str(uuid.uuid5(_NAMESPACE, f"{story.key}/{performed_at.date().isoformat()}")),
        "performed_at": performed_at.isoformat(),
        "duration_minutes": 25,
        "exercises": [
            {"exercise_id": "cat-camel", "sets_done": 2, "reps_done": 10, "completed": True},
            {"exercise_id": "bridge", "sets_done": 2, "reps_done": 8, "completed": True},
        ],
        "pain_during": day.session_pain,
        "rpe": 4 if day.session_pain < 6 else 7,
        "difficulty": "about_right" if day.session_pain < 6 else "too_hard",
    }
