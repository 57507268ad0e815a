"""The exercise library and plan templates, for every signed-in user.

The library is small and read-only (loaded once per process from the validated data
files), so lists are served from memory, sorted by id and cursor-paginated like every
other list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Path, Query

from api.deps import CurrentUser, SessionDep
from api.errors import not_found
from api.exercises.schemas import (
    DosagePublic,
    ExercisePublic,
    PlanLevelPublic,
    PlanTemplatePublic,
    PrescribedPublic,
)
from api.i18n import DEFAULT_LOCALE
from api.i18n.patients import locale_of_user
from api.pagination import Keyset
from api.schemas import Limit, Page
from exercise_library import Exercise, PlanTemplate, get_library

router = APIRouter(tags=["library"])

T = TypeVar("T")
LibraryId = Annotated[str, Path(min_length=1, max_length=64)]
Cursor = Annotated[str | None, Query(max_length=200)]


def _page(items: Sequence[tuple[str, T]], limit: int, cursor: str | None) -> Page[T]:
    """A page of ``(id, item)`` pairs sorted by id, after the cursor's id."""
    keyset = Keyset(cursor, limit, id=str)
    if keyset.after is not None:
        items = [pair for pair in items if pair[0] > keyset.after["id"]]
    chosen, next_cursor = keyset.page(items, lambda pair: {"id": pair[0]})
    return Page[T](items=[item for _, item in chosen], next_cursor=next_cursor)


def exercise_public(exercise: Exercise) -> ExercisePublic:
    return ExercisePublic(
        id=exercise.id,
        name=exercise.name,
        category=exercise.category,
        summary=exercise.summary,
        instructions=list(exercise.instructions),
        dosage=[DosagePublic(level=level, **dose.model_dump()) for level, dose in sorted(exercise.dosage.items())],
        contraindications=list(exercise.contraindications),
        phases=list(exercise.phases),
        tags=list(exercise.tags),
        equipment=list(exercise.equipment),
    )


def template_public(template: PlanTemplate, locale: str = DEFAULT_LOCALE) -> PlanTemplatePublic:
    library = get_library().in_locale(locale)
    return PlanTemplatePublic(
        id=template.id,
        name=template.name,
        risk_group=template.risk_group,
        description=template.description,
        level_count=len(template.levels),
        levels=[
            PlanLevelPublic(
                number=level.number,
                name=level.name,
                sessions_per_week=level.sessions_per_week,
                walking_minutes=level.walking_minutes,
                prescription=[
                    PrescribedPublic.model_validate(p) for p in library.prescription(template.id, level.number)
                ],
                flare_prescription=[
                    PrescribedPublic.model_validate(p) for p in library.reduced_prescription(template.id, level.number)
                ],
                education=list(level.education),
            )
            for level in template.levels
        ],
    )


@router.get("/exercises", response_model=Page[ExercisePublic])
def list_exercises(
    user: CurrentUser,
    session: SessionDep,
    category: Annotated[
        Literal["mobility", "core_strength", "stretching", "walking_aerobic", "relaxation"] | None, Query()
    ] = None,
    phase: Annotated[Literal["acute", "subacute", "chronic"] | None, Query()] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[ExercisePublic]:
    """The exercise library, by id; filter by category, phase (acute/subacute/chronic) or tag.

    A patient reads names, instructions and cautions in their own locale.
    """
    library = get_library().in_locale(locale_of_user(session, user))
    chosen = [
        (exercise.id, exercise_public(exercise))
        for exercise in sorted(library.exercises.values(), key=lambda e: e.id)
        if (category is None or exercise.category == category)
        and (phase is None or phase in exercise.phases)
        and (tag is None or tag in exercise.tags)
    ]
    return _page(chosen, limit, cursor)


@router.get("/exercises/{exercise_id}", response_model=ExercisePublic)
def get_exercise(exercise_id: LibraryId, user: CurrentUser, session: SessionDep) -> ExercisePublic:
    """One exercise (in the patient's own locale)."""
    exercise = get_library().in_locale(locale_of_user(session, user)).exercises.get(exercise_id)
    if exercise is None:
        raise not_found("exercise")
    return exercise_public(exercise)


@router.get("/plan-templates", response_model=Page[PlanTemplatePublic])
def list_plan_templates(
    user: CurrentUser, session: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[PlanTemplatePublic]:
    """Plan templates (one per STarT Back risk group) with every level's prescription,
    flare prescription, sessions per week, walking target and education."""
    locale = locale_of_user(session, user)
    templates = sorted(get_library().in_locale(locale).templates.values(), key=lambda t: t.id)
    return _page([(t.id, template_public(t, locale)) for t in templates], limit, cursor)


@router.get("/plan-templates/{template_id}", response_model=PlanTemplatePublic)
def get_plan_template(template_id: LibraryId, user: CurrentUser, session: SessionDep) -> PlanTemplatePublic:
    """One plan template (in the patient's own locale)."""
    locale = locale_of_user(session, user)
    template = get_library().in_locale(locale).templates.get(template_id)
    if template is None:
        raise not_found("plan template")
    return template_public(template, locale)
