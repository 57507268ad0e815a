"""A patient's record as a FHIR R4B Bundle (docs/fhir.md maps every field).

Two shapes of the same content: a ``collection`` (the default download, to read or archive)
and a ``transaction`` (``?type=transaction``) a FHIR server can take as is. In the
transaction every entry is a conditional create (``ifNoneExist`` on the resource's
identifier, or on ``url`` for the CodeSystems and Questionnaires), so posting the same
export twice, or an export that overlaps an earlier one, creates nothing twice. Provenance
has no identifier in R4B: it is posted unconditionally (docs/fhir.md).

Every resource has a stable ``urn:uuid`` (UUID 5 of its kind and key) used as its
``fullUrl``, its ``id`` and the value of its identifier under the deployment's
``fhir_identifier_base``, so two exports of the same record name the same things.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from fhir.resources.R4B.bundle import Bundle

from api.clinicians.words import RULE_WORDS, TIER_WORDS, rule_words
from api.exercises.dose import dose_text
from api.exports.fhir import codes as c
from api.exports.record import PatientRecord
from api.models import (
    ActorType,
    Alert,
    AlertStatus,
    AuthorRole,
    ExerciseSession,
    Message,
    PainLog,
    PlanDecision,
    Screening,
)
from api.rules.advice import RED_FLAG_QUESTIONS
from api.rules.types import RuleCode, Symptom
from exercise_library import get_library

BundleType = Literal["collection", "transaction"]
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, c.CODE_BASE)
_CAREPLAN_STATUS = {"active": "active", "reduced": "active", "paused": "on-hold", "completed": "completed"}
_ACTIVITY_STATUS = {"active": "in-progress", "reduced": "in-progress", "paused": "on-hold", "completed": "completed"}
_QUESTIONNAIRE_VERSION = {"red_flags": "1"}
_DEVICE_KEY = "backstep-rules"


def full_url(kind: str, key: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"


def questionnaire_url(instrument: str) -> str:
    return f"{c.CODE_BASE}/Questionnaire/{instrument}"


def narrative(*lines: str) -> dict[str, str]:
    """Generated XHTML narrative: one escaped paragraph per line (no markup from data)."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _score(value: float | int) -> dict[str, Any]:
    return {"value": value, "unit": "{score}", "system": c.UCUM, "code": "{score}"}


def _concept(*codings: dict[str, str]) -> dict[str, Any]:
    return {"coding": list(codings), "text": codings[0].get("display", codings[0]["code"])}


@dataclass
class _Builder:
    record: PatientRecord
    base: str
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # (local date, key) -> fullUrl of what was exported for it, for the alerts' evidence.
    by_day: dict[tuple[date, str], str] = field(default_factory=dict)
    screenings: dict[int, tuple[str, list[str]]] = field(default_factory=dict)
    systems: set[str] = field(default_factory=set)

    @property
    def subject(self) -> str:
        return full_url("patient", self.record.patient.id)

    @property
    def device(self) -> str:
        return full_url("device", _DEVICE_KEY)

    def identifier(self, kind: str, url: str) -> dict[str, str]:
        return {"system": f"{self.base}/{kind}", "value": url}

    def add(self, kind: str, key: object, resource: dict[str, Any], *, identified: bool = True) -> str:
        url = full_url(kind, key)
        resource = {"resourceType": resource.pop("resourceType"), "id": url.removeprefix("urn:uuid:"), **resource}
        if identified and "identifier" not in resource:
            resource["identifier"] = [self.identifier(kind, url)]
        self.entries.append((url, resource))
        return url

    def code(self, system: str, value: str) -> dict[str, str]:
        self.systems.add(system)
        return c.local(system, value)

    def local_day(self, moment: datetime) -> date:
        return self.record.local(moment).date()

    def when(self, moment: datetime) -> str:
        return self.record.local(moment).replace(microsecond=0).isoformat()

    # -- people --------------------------------------------------------------------------

    def patient(self) -> None:
        record = self.record
        identifiers = [{"use": "usual", **self.identifier("patient-id", str(record.patient.id))}]
        if record.identifier is not None:
            identifiers.append(
                {"use": "official", "system": record.identifier.system, "value": record.identifier.value}
            )
        person: dict[str, Any] = {
            "resourceType": "Patient",
            "text": narrative(f"Patient {record.display_name}", f"Backstep patient {record.patient.id}"),
            "identifier": identifiers,
            "name": [{"text": record.display_name}],
        }
        if record.patient.birth_year is not None:
            person["birthDate"] = f"{record.patient.birth_year:04d}"  # year precision
        self.add("patient", record.patient.id, person)

    def rules_device(self) -> None:
        self.add(
            "device",
            _DEVICE_KEY,
            {
                "resourceType": "Device",
                "text": narrative("Backstep rules engine: raises alerts and adjusts plans by its published rules."),
                "deviceName": [{"name": "Backstep rules engine", "type": "manufacturer-name"}],
                "status": "active",
            },
        )

    def practitioner(self, user_id: int | None) -> str | None:
        if user_id is None or user_id not in self.record.clinicians:
            return None
        url = full_url("practitioner", user_id)
        if all(u != url for u, _ in self.entries):
            name = self.record.clinicians[user_id]
            self.add(
                "practitioner",
                user_id,
                {
                    "resourceType": "Practitioner",
                    "text": narrative(f"Clinician {name}"),
                    "identifier": [self.identifier("practitioner-id", str(user_id))],
                    "name": [{"text": name}],
                },
            )
        return url

    # -- daily logs ----------------------------------------------------------------------

    def _effective(self, log: PainLog) -> str:
        recorded = self.record.local(log.created_at).replace(microsecond=0)
        if recorded.date() == log.log_date:
            return recorded.isoformat()
        # A back-dated daily rating has no clock time: noon of its day.
        return datetime.combine(log.log_date, time(12), self.record.zone).isoformat()

    def _log_observation(self, log: PainLog, key: str, code: dict[str, Any], value: dict[str, Any], words: str) -> str:
        url = self.add(
            "observation",
            f"{log.id}/{key}",
            {
                "resourceType": "Observation",
                "text": narrative(f"{log.log_date.isoformat()}: {words}"),
                "status": "final",
                "category": [{"coding": [c.SURVEY]}],
                "code": code,
                "subject": {"reference": self.subject},
                "effectiveDateTime": self._effective(log),
                "issued": self.when(log.created_at),
                "performer": [{"reference": self.subject}],
                **value,
            },
        )
        self.by_day[(log.log_date, key)] = url
        return url

    def log(self, log: PainLog) -> None:
        obs = c.OBSERVATION_CODES
        for key, value, site in (("back-pain", log.back_pain, c.BACK), ("leg-pain", log.leg_pain, c.LOWER_LIMB)):
            if value is None:
                continue
            coding = self.code(obs, key)
            self._log_observation(
                log,
                key,
                _concept(coding, c.PAIN_SEVERITY),
                {"valueQuantity": _score(value), "bodySite": {"coding": [site]}},
                f"{coding['display']}: {value}",
            )
        for key, number in (("interference", log.interference), ("sleep-quality", log.sleep_quality)):
            if number is not None:
                coding = self.code(obs, key)
                self._log_observation(
                    log, key, _concept(coding), {"valueQuantity": _score(number)}, f"{coding['display']}: {number}"
                )
        if log.activity_minutes is not None:
            coding = self.code(obs, "activity-minutes")
            minutes = {"value": log.activity_minutes, "unit": "min", "system": c.UCUM, "code": "min"}
            self._log_observation(
                log, "activity-minutes", _concept(coding), {"valueQuantity": minutes}, f"{log.activity_minutes} min"
            )
        if log.steps is not None:
            coding = self.code(obs, "steps")
            steps = {"value": log.steps, "unit": "steps", "system": c.UCUM, "code": "{steps}"}
            self._log_observation(log, "steps", _concept(coding), {"valueQuantity": steps}, f"{log.steps} steps")
        if log.flare:
            coding = self.code(obs, "flare")
            self._log_observation(log, "flare", _concept(coding), {"valueBoolean": True}, "Flare-up reported")
        for symptom in log.symptoms:
            coding = self.code(c.SYMPTOMS, symptom)
            self._log_observation(
                log, f"symptom:{symptom}", _concept(coding), {"valueBoolean": True}, f"Reported: {coding['display']}"
            )
        for medication in log.medications:
            self.medication(log, medication)

    def medication(self, log: PainLog, medication: str) -> None:
        codings = [self.code(c.MEDICATION_CLASSES, medication)]
        if medication in c.ATC_GROUPS:
            atc, display = c.ATC_GROUPS[medication]
            codings.append({"system": c.ATC, "code": atc, "display": display})
        url = self.add(
            "medication-statement",
            f"{log.id}/{medication}",
            {
                "resourceType": "MedicationStatement",
                "text": narrative(f"{log.log_date.isoformat()}: took {codings[0]['display'].lower()} (class only)"),
                "status": "completed",
                "medicationCodeableConcept": _concept(*codings),
                "subject": {"reference": self.subject},
                "effectiveDateTime": log.log_date.isoformat(),
                "dateAsserted": self.when(log.created_at),
                "informationSource": {"reference": self.subject},
            },
        )
        self.by_day[(log.log_date, f"medication:{medication}")] = url

    # -- sessions --------------------------------------------------------------------------

    def session(self, done: ExerciseSession, care_plan: str | None) -> None:
        library = get_library()
        names = [
            library.exercises[e["exercise_id"]].name if e["exercise_id"] in library.exercises else e["exercise_id"]
            for e in done.exercises
        ]
        procedure: dict[str, Any] = {
            "resourceType": "Procedure",
            "text": narrative(
                f"Exercise session on {done.performed_on.isoformat()}, {done.duration_minutes} min",
                "Exercises: " + ", ".join(names),
                f"Pain during: {done.pain_during}/10",
            ),
            "status": "completed",
            "code": _concept(c.EXERCISE_THERAPY),
            "subject": {"reference": self.subject},
            "performedDateTime": self.when(done.performed_at),
            "performer": [{"actor": {"reference": self.subject}}],
            "usedCode": [
                _concept(self.code(c.EXERCISES, e["exercise_id"]))
                for e in done.exercises
                if e["exercise_id"] in library.exercises
            ],
        }
        if care_plan is not None:
            procedure["basedOn"] = [{"reference": care_plan}]
        if not procedure["usedCode"]:
            del procedure["usedCode"]
        self.add("procedure", done.id, procedure)

    # -- screenings ------------------------------------------------------------------------

    def questionnaires(self) -> None:
        library = get_library()
        used = sorted({s.instrument for s in self.record.screenings})
        for instrument in used:
            resource: dict[str, Any] = {
                "resourceType": "Questionnaire",
                "url": questionnaire_url(instrument),
                "status": "active",
                "subjectType": ["Patient"],
            }
            if instrument in library.instruments:
                source = library.instruments[instrument]
                resource |= {
                    "version": source.version,
                    "name": source.id.title().replace("_", ""),
                    "title": source.name,
                }
                resource["copyright"] = source.copyright
                items = []
                for item in source.items:
                    entry: dict[str, Any] = {"linkId": item.id, "text": item.text, "required": instrument != "odi"}
                    if item.answer == "agree_disagree":
                        entry["type"] = "boolean"
                    elif item.answer == "choice":
                        entry["type"] = "choice"
                        entry["answerOption"] = [
                            {"valueCoding": self.code(c.BOTHERSOME, o.value)} for o in item.options
                        ]
                    else:
                        entry["type"] = "integer"
                        entry["answerOption"] = [{"valueInteger": n} for n in range(6)]
                    if instrument == "start_back" and item.id in c.START_BACK_ITEMS:
                        entry["code"] = [{"system": c.LOINC, "code": c.START_BACK_ITEMS[item.id]}]
                    items.append(entry)
                resource["item"] = items
                if instrument == "start_back":
                    resource["code"] = [c.START_BACK_PANEL]
                lines = [f"{source.name} {source.version}", source.copyright]
            else:
                resource |= {"version": _QUESTIONNAIRE_VERSION.get(instrument, "1"), "name": "RedFlags"}
                resource["title"] = "Red-flag screening"
                resource["item"] = [
                    {"linkId": str(s), "text": text, "type": "boolean", "required": True}
                    for s, text in RED_FLAG_QUESTIONS.items()
                ]
                lines = ["Red-flag screening: every question answered yes or no"]
            resource["text"] = narrative(*lines, *(f"{i['linkId']}: {i['text']}" for i in resource["item"]))
            self.add("questionnaire", instrument, resource, identified=False)

    def _order(self, instrument: str) -> list[str]:
        library = get_library()
        if instrument in library.instruments:
            return [i.id for i in library.instruments[instrument].items]
        return [str(s) for s in Symptom if s in RED_FLAG_QUESTIONS]

    def screening(self, screening: Screening) -> None:
        order = self._order(screening.instrument)
        answers = screening.answers
        names = [n for n in order if n in answers] + sorted(n for n in answers if n not in order)
        items = []
        for name in names:
            value = answers[name]
            if value is None:
                continue
            if isinstance(value, bool):
                answer: dict[str, Any] = {"valueBoolean": value}
            elif isinstance(value, int):
                answer = {"valueInteger": value}
            else:
                answer = {"valueCoding": self.code(c.BOTHERSOME, str(value))}
            items.append({"linkId": name, "answer": [answer]})
        authored = self.when(screening.created_at)
        response = self.add(
            "questionnaire-response",
            screening.id,
            {
                "resourceType": "QuestionnaireResponse",
                "text": narrative(f"{screening.instrument} answered {authored}", f"{len(items)} answers"),
                "questionnaire": questionnaire_url(screening.instrument),
                "status": "completed",
                "subject": {"reference": self.subject},
                "authored": authored,
                "author": {"reference": self.subject},
                "item": items,
            },
        )
        # One identifier, not a list, on a QuestionnaireResponse.
        self.entries[-1][1]["identifier"] = self.identifier("questionnaire-response", response)
        scores = [url for url in self._scores(screening, response, authored) if url]
        self.screenings[screening.id or 0] = (response, scores)

    def _scores(self, screening: Screening, response: str, authored: str) -> Iterable[str | None]:
        def score(key: str, code: dict[str, Any], value: dict[str, Any], words: str) -> str:
            return self.add(
                "observation",
                f"screening/{screening.id}/{key}",
                {
                    "resourceType": "Observation",
                    "text": narrative(f"{screening.instrument} {authored}: {words}"),
                    "status": "final",
                    "category": [{"coding": [c.SURVEY]}],
                    "code": code,
                    "subject": {"reference": self.subject},
                    "effectiveDateTime": authored,
                    "performer": [{"reference": self.subject}],
                    "derivedFrom": [{"reference": response}],
                    **value,
                },
            )

        if screening.instrument == "start_back":
            if screening.total is not None:
                yield score("total", _concept(c.START_BACK_TOTAL), {"valueQuantity": _score(screening.total)}, "total")
            if screening.subscale is not None:
                value = {"valueQuantity": _score(screening.subscale)}
                yield score("subscale", _concept(c.START_BACK_SUBSCORE), value, "psychosocial subscore")
            if screening.risk_group is not None:
                answer = c.START_BACK_RISK_ANSWERS[screening.risk_group]
                risk = {"valueCodeableConcept": _concept(answer, self.code(c.RISK_GROUPS, screening.risk_group))}
                yield score("risk", _concept(c.START_BACK_RISK), risk, f"risk {screening.risk_group}")
        elif screening.instrument == "odi":
            if screening.total is not None:
                code = _concept(self.code(c.OBSERVATION_CODES, "odi-total"))
                yield score("total", code, {"valueQuantity": _score(screening.total)}, f"total {screening.total}")
            if screening.percent is not None:
                percent = {"value": screening.percent, "unit": "%", "system": c.UCUM, "code": "%"}
                code = _concept(self.code(c.OBSERVATION_CODES, "odi-percent"))
                yield score("percent", code, {"valueQuantity": percent}, f"{screening.percent}%")
            if screening.band is not None:
                band = {"valueCodeableConcept": _concept(self.code(c.ODI_BANDS, screening.band))}
                code = _concept(self.code(c.OBSERVATION_CODES, "odi-band"))
                yield score("band", code, band, f"band {screening.band}")
        elif screening.tier is not None:
            tier = {"valueCodeableConcept": _concept(self.code(c.TRIAGE_TIERS, screening.tier))}
            code = _concept(self.code(c.OBSERVATION_CODES, "red-flag-tier"))
            yield score("tier", code, tier, f"tier {screening.tier}")

    # -- plan ------------------------------------------------------------------------------

    def care_plan(self) -> str | None:
        plan = self.record.plan
        if plan is None:
            return None
        library = get_library()
        template = library.template(plan.template_id)
        status = _ACTIVITY_STATUS[plan.status]
        weekly = {"repeat": {"frequency": plan.sessions_per_week, "period": 1, "periodUnit": "wk"}}
        activities: list[dict[str, Any]] = []
        for item in library.prescription(plan.template_id, plan.level):
            detail = {
                "code": _concept(self.code(c.EXERCISES, item.exercise_id)),
                "status": status,
                "description": dose_text(item),
                "scheduledTiming": weekly,
            }
            activities.append({"detail": detail})
        if plan.walking_minutes_target:
            daily = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
            detail = {
                "code": _concept(self.code(c.EXERCISES, "daily-walk")),
                "status": status,
                "description": f"walk {round(plan.walking_minutes_target)} minutes a day",
                "scheduledTiming": daily,
            }
            activities.append({"detail": detail})
        period = {"start": plan.started_on.isoformat()}
        if plan.status == "completed":
            ends = [d.decided_at for d in self.record.decisions if d.to_status == "completed"]
            period["end"] = self.local_day(ends[-1] if ends else plan.updated_at).isoformat()
        title = f"{template.name}, level {plan.level} of {len(template.levels)}"
        return self.add(
            "care-plan",
            plan.id,
            {
                "resourceType": "CarePlan",
                "text": narrative(title, f"Status: {plan.status}", *(a["detail"]["description"] for a in activities)),
                "status": _CAREPLAN_STATUS[plan.status],
                "intent": "plan",
                "title": title,
                "subject": {"reference": self.subject},
                "period": period,
                "activity": activities,
            },
        )

    def decision(self, decision: PlanDecision, care_plan: str) -> None:
        if decision.actor_type == ActorType.CLINICIAN:
            who = self.practitioner(decision.actor_id) or self.device
        elif decision.actor_type == ActorType.PATIENT:
            who = self.subject
        else:
            who = self.device
        action = self.code(c.PLAN_ACTIONS, decision.action)
        change = (
            f"level {decision.from_level} -> {decision.to_level}, status {decision.from_status} -> {decision.to_status}"
        )
        self.add(
            "provenance",
            decision.id,
            {
                "resourceType": "Provenance",
                "text": narrative(f"{action['display']} ({change})", *decision.reasons),
                "target": [{"reference": care_plan}],
                "occurredDateTime": self.when(decision.decided_at),
                "recorded": self.when(decision.decided_at),
                "policy": [f"{c.CODE_BASE}/ruleset/{decision.ruleset_version}"],
                "activity": {"coding": [action], "text": change},
                "reason": [{"text": reason} for reason in decision.reasons if reason],
                "agent": [{"type": {"coding": [c.PROVENANCE_AUTHOR]}, "who": {"reference": who}}],
            },
            identified=False,
        )

    # -- alerts ----------------------------------------------------------------------------

    def _days(self, start: object, end: object) -> list[date]:
        try:
            first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
        except ValueError:
            return []
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def _window_days(self, *windows: Any) -> list[date]:
        days: list[date] = []
        for window in windows:
            if isinstance(window, dict):
                days.extend(self._days(window.get("start"), window.get("end")))
        return days

    def _on(self, days: Iterable[date], *keys: str) -> list[str]:
        return [self.by_day[(d, k)] for d in sorted(set(days)) for k in keys if (d, k) in self.by_day]

    def _screening_evidence(self, instrument: str, on: date | None, before: datetime) -> list[str]:
        candidates = [
            s
            for s in self.record.screenings
            if s.instrument == instrument
            and s.created_at <= before + timedelta(seconds=1)
            and (on is None or self.local_day(s.created_at) == on)
        ]
        if not candidates or candidates[-1].id not in self.screenings:
            return []
        response, scores = self.screenings[candidates[-1].id or 0]
        return [*scores, response]

    def evidence(self, alert: Alert) -> list[str]:
        """The exported resources that triggered the alert (docs/fhir.md, "Alert evidence")."""
        ev = alert.evidence
        opened = self.local_day(alert.opened_at)
        rule = alert.rule
        symptom_keys = [f"symptom:{s}" for s in Symptom]
        if rule in (RuleCode.RED_FLAG_EMERGENCY, RuleCode.RED_FLAG_URGENT_SAME_DAY, RuleCode.RED_FLAG_URGENT_DAYS):
            on_text, _, names = alert.occurrence_key.partition(":")
            try:
                on = date.fromisoformat(on_text)
            except ValueError:
                on = opened
            keys = [f"symptom:{n}" for n in names.split("+") if n] or symptom_keys
            return self._on([on], *keys) or self._screening_evidence("red_flags", on, alert.opened_at)
        if rule == RuleCode.KNOWN_SYMPTOM:
            keys = [f"symptom:{s}" for s in ev.get("known_symptoms", [])] or symptom_keys
            return self._on([opened], *keys) or self._screening_evidence("red_flags", opened, alert.opened_at)
        if rule == RuleCode.PERSISTENT_NUMBNESS:
            return self._on(self._days(ev.get("first_on"), ev.get("last_on")), f"symptom:{Symptom.ONE_LEG_NUMBNESS}")
        if rule in (RuleCode.START_BACK_MEDIUM, RuleCode.START_BACK_HIGH):
            screened = date.fromisoformat(ev["screened_on"]) if ev.get("screened_on") else None
            return self._screening_evidence("start_back", screened, alert.opened_at) or self._screening_evidence(
                "start_back", None, alert.opened_at
            )
        if rule in (
            RuleCode.NO_IMPROVEMENT_2W,
            RuleCode.NO_IMPROVEMENT_4W,
            RuleCode.NO_IMPROVEMENT_6W,
            RuleCode.PERSISTENT_12W,
        ):
            return self._on(self._window_days(ev.get("baseline"), ev.get("current")), "back-pain")
        if rule == RuleCode.WORSENING:
            return self._on(self._window_days(ev.get("baseline"), *(ev.get("windows") or [])), "back-pain")
        if rule == RuleCode.PROLONGED_FLARE:
            return self._on(self._days(ev.get("flare_started_on"), ev.get("evaluated_on")), "flare")
        if rule == RuleCode.MEDICATION_REVIEW:
            days = self._days(ev.get("window_start"), ev.get("window_end"))
            return self._on(days, f"medication:{ev.get('medication_class', 'muscle_relaxant')}")
        return []  # ``silent``: the evidence is an absence of logs, told in the DetectedIssue's detail

    def alert(self, alert: Alert) -> None:
        rule = self.code(c.ALERT_RULES, alert.rule)
        tier = self.code(c.TRIAGE_TIERS, alert.tier)
        priority, priority_words = c.TIER_PRIORITY[alert.tier]
        opened = self.when(alert.opened_at)
        mitigations = []
        lifecycle = [f"Opened {opened} ({TIER_WORDS.get(alert.tier, alert.tier)})"]
        for action, by, at in (
            ("acknowledged", alert.acknowledged_by, alert.acknowledged_at),
            ("resolved", alert.resolved_by, alert.resolved_at),
        ):
            if at is None:
                continue
            mitigation: dict[str, Any] = {"action": _concept(self.code(c.ALERT_ACTIONS, action)), "date": self.when(at)}
            author = self.practitioner(by)
            if author is not None:
                mitigation["author"] = {"reference": author}
            mitigations.append(mitigation)
            lifecycle.append(f"{action.capitalize()} {self.when(at)}")
        evidence = self.evidence(alert)
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "text": narrative(rule_words(alert.rule), *lifecycle, f"Evidence: {len(evidence)} resources"),
            "status": "final",
            "code": _concept(rule),
            "severity": c.TIER_SEVERITY[alert.tier],
            "patient": {"reference": self.subject},
            "identifiedDateTime": opened,
            "author": {"reference": self.device},
            "detail": RULE_WORDS.get(alert.rule, alert.rule),
        }
        if evidence:
            issue["evidence"] = [{"detail": [{"reference": url} for url in evidence]}]
        if mitigations:
            issue["mitigation"] = mitigations
        detail = self.add("detected-issue", alert.id, issue)
        period = {"start": opened}
        if alert.status == AlertStatus.RESOLVED and alert.resolved_at is not None:
            period["end"] = self.when(alert.resolved_at)
        priority_concept = {
            "coding": [{"system": c.FLAG_PRIORITY, "code": priority, "display": priority_words}, tier],
            "text": tier["display"],
        }
        self.add(
            "flag",
            alert.id,
            {
                "resourceType": "Flag",
                "text": narrative(rule_words(alert.rule), *lifecycle),
                "extension": [
                    {"url": c.FLAG_PRIORITY_EXTENSION, "valueCodeableConcept": priority_concept},
                    {"url": c.FLAG_DETAIL_EXTENSION, "valueReference": {"reference": detail}},
                ],
                "status": "inactive" if alert.status == AlertStatus.RESOLVED else "active",
                "category": [{"coding": [c.CLINICAL_FLAG]}],
                "code": _concept(rule),
                "subject": {"reference": self.subject},
                "period": period,
                "author": {"reference": self.device},
            },
        )

    # -- the conversation with the care team ---------------------------------------------------

    def message(self, message: Message) -> None:
        """A message as a Communication: the patient to their care team, or a clinician to the patient.

        A patient's message has no recipient (the care team as a whole reads it); a
        message whose staff author was deleted has no sender. ``received`` is when the
        other side first read it.
        """
        sent = self.when(message.created_at)
        resource: dict[str, Any] = {
            "resourceType": "Communication",
            "status": "completed",
            "subject": {"reference": self.subject},
            "sent": sent,
            "payload": [{"contentString": message.body}],
        }
        if message.author_role == AuthorRole.PATIENT:
            resource["sender"] = {"reference": self.subject}
            who = f"the patient {self.record.display_name}"
        else:
            author = self.practitioner(message.author_user_id)
            if author is not None:
                resource["sender"] = {"reference": author}
            resource["recipient"] = [{"reference": self.subject}]
            who = self.record.clinicians.get(message.author_user_id or 0, "a former care team member")
        if message.read_at is not None:
            resource["received"] = self.when(message.read_at)
        resource["text"] = narrative(f"Message from {who}, sent {sent}", message.body)
        self.add("communication", message.id, resource)

    # -- code systems ------------------------------------------------------------------------

    def code_systems(self) -> None:
        systems = c.local_code_systems()
        for url in sorted(self.systems):
            resource = c.code_system_resource(systems[url])
            lines = [resource["title"], *(f"{k['code']}: {k['display']}" for k in resource["concept"])]
            self.add("code-system", url, {**resource, "text": narrative(*lines)}, identified=False)


def _request(resource: dict[str, Any], base: str) -> dict[str, Any]:
    kind = resource["resourceType"]
    request: dict[str, Any] = {"method": "POST", "url": kind}
    if kind in ("CodeSystem", "Questionnaire"):
        request["ifNoneExist"] = f"url={resource['url']}&version={resource['version']}"
    elif kind == "QuestionnaireResponse":
        ident = resource["identifier"]
        request["ifNoneExist"] = f"identifier={ident['system']}|{ident['value']}"
    elif "identifier" in resource:
        ident = resource["identifier"][0]
        request["ifNoneExist"] = f"identifier={ident['system']}|{ident['value']}"
    return request


def build_bundle(record: PatientRecord, now: datetime, base: str, kind: BundleType = "collection") -> Bundle:
    """The record as a Bundle: Patient first, then who acted, then the clinical resources,
    then the Questionnaires and CodeSystems they refer to."""
    builder = _Builder(record, base.rstrip("/"))
    builder.patient()
    builder.rules_device()
    care_plan = builder.care_plan()
    for log in record.logs:
        builder.log(log)
    for done in record.sessions:
        builder.session(done, care_plan)
    for screening in record.screenings:
        builder.screening(screening)
    builder.questionnaires()
    if care_plan is not None:
        for decision in record.decisions:
            builder.decision(decision, care_plan)
    for alert in record.alerts:
        builder.alert(alert)
    for message in record.messages:
        builder.message(message)
    builder.code_systems()
    stamp = record.local(now).replace(microsecond=0).isoformat()
    bundle_url = full_url("bundle", f"{record.patient.id}/{now.isoformat()}/{kind}")
    entries = []
    for url, resource in builder.entries:
        entry: dict[str, Any] = {"fullUrl": url, "resource": resource}
        if kind == "transaction":
            entry["request"] = _request(resource, builder.base)
        entries.append(entry)
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": bundle_url.removeprefix("urn:uuid:"),
            "meta": {"lastUpdated": stamp},
            "identifier": {"system": f"{builder.base}/export", "value": bundle_url},
            "type": kind,
            "timestamp": stamp,
            "entry": entries,
        }
    )
