"""One exercise's dose in words, the same wherever a clinician reads it.

The dashboard, the CSV export and the FHIR CarePlan all show a prescription with this
function, so none of them can drop a part of it (an earlier template printed only the
first of reps, hold and minutes: "2 x 2 reps" for two 30-second stretches). It reads
the API's own fields (``sets``, ``reps``, ``hold_seconds``, ``minutes``) and imports
nothing from the application, so any module may use it without an import cycle.
"""

from __future__ import annotations

from typing import Protocol

TIMES = "\u00d7"  # the multiplication sign, as a written prescription has it


class Dose(Protocol):
    """What a prescribed item says about its volume (``exercise_library.Prescribed``,
    ``api.exercises.schemas.PrescribedPublic``)."""

    @property
    def sets(self) -> int: ...
    @property
    def reps(self) -> int | None: ...
    @property
    def hold_seconds(self) -> int | None: ...
    @property
    def minutes(self) -> int | None: ...


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def dose_text(item: Dose) -> str:
    """``sets x volume`` (x: the multiplication sign), every part the prescription gives,
    in a fixed order.

    ``2 x 8 reps`` · ``2 x 2 reps, hold 30 s each`` (a hold with reps is per rep) ·
    ``3 x 20 s hold`` · ``1 x 20 min``. A part the prescription leaves out is never
    written; a part it gives is never left out.
    """
    parts: list[str] = []
    if item.reps is not None:
        parts.append(_count(item.reps, "rep", "reps"))
    if item.hold_seconds is not None:
        parts.append(f"hold {item.hold_seconds} s each" if item.reps is not None else f"{item.hold_seconds} s hold")
    if item.minutes is not None:
        parts.append(f"{item.minutes} min")
    return f"{item.sets} {TIMES} {', '.join(parts)}" if parts else _count(item.sets, "set", "sets")
