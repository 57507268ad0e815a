"""The demo clinic's patients: who they are and what happens to them, day by day.

Each story is data: the daily back pain (None: no log that day), sessions on the plan's
days, symptoms and flares on given days, and the physiotherapist's actions. Nothing here
decides a clinical outcome: ``api.demo.simulate`` replays the days through the real
services and the rules decide (the test ``tests/test_seed.py`` checks they did).
Day 0 is the day the patient registered; the last day is today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

Risk = Literal["low", "medium", "high"]
ActKind = Literal["acknowledge", "resolve", "resume", "set_level"]


@dataclass(frozen=True, slots=True)
class Day:
    back: int | None  # None: the patient did not log that day
    leg: int | None = None
    flare: bool = False
    symptoms: tuple[str, ...] = ()
    relaxant: bool = False
    session_pain: int | None = 2  # pain during a session on a planned day; None: no session
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Act:
    """A physiotherapist's action at 10:00 (patient's time) on a programme day."""

    day: int
    kind: ActKind
    rule: str | None = None
    note: str = ""
    level: int | None = None


@dataclass(frozen=True, slots=True)
class DemoMessage:
    """A message of the patient's conversation with their physiotherapist.

    ``day`` counts back from today (0: today, -1: yesterday); a physiotherapist's message
    first reads the patient's messages before it (they answer what they read).
    """

    day: int
    hour: int
    from_patient: bool
    text: str


@dataclass(frozen=True, slots=True)
class Story:
    key: str  # the e-mail's local part
    name: str
    about: str  # what the demo shows with this patient
    physio: int  # 0: Sam Okafor, 1: Priya Shah
    timezone: str
    birth_year: int
    risk: Risk
    days: tuple[Day, ...]
    acts: tuple[Act, ...] = ()
    red_flags: tuple[str, ...] = ()  # answered yes in the registration red-flag screening
    cancer_history: bool = False
    osteoporosis_or_steroids: bool = False
    messages: tuple[DemoMessage, ...] = ()

    @property
    def length(self) -> int:
        return len(self.days)


def pains(values: Iterable[int | None], *, leg_drop: int = 2, session_pain: int | None = 2) -> list[Day]:
    """Days with these back pains; leg pain ``leg_drop`` lower (never below 0)."""
    return [Day(back=v, leg=None if v is None else max(0, v - leg_drop), session_pain=session_pain) for v in values]


def patched(days: list[Day], first: int, last: int, **changes: object) -> list[Day]:
    """``days`` with ``changes`` applied to the days ``first``..``last`` (inclusive; negative from the end)."""
    n = len(days)
    lo, hi = first % n, last % n
    return [replace(d, **changes) if lo <= i <= hi else d for i, d in enumerate(days)]  # type: ignore[arg-type]


FIRST_REVIEW = "Reviewed at the first appointment: graded plan agreed."


def week(*values: int | None) -> list[int | None]:
    return list(values)


def same(value: int | None, n: int) -> list[int | None]:
    return [value] * n


def reviewed(day: int = 1) -> Act:
    """The STarT Back review alert, dealt with at the first appointment."""
    return Act(day, "resolve", "start_back_medium", FIRST_REVIEW)


def _alex() -> list[Day]:
    days = pains([*week(5, 5, 5, 6, 5, 5, 5), *week(4, 4, 3, 3, 3, 3, 3), *same(3, 6), 5])
    return patched(
        days,
        -1,
        -1,
        symptoms=("saddle_numbness", "bladder_change"),
        session_pain=None,
        note="Numb around my bottom since this morning and trouble passing water.",
    )


def _maria() -> list[Day]:
    days = pains([*week(5, 5, 6, 5, 5, 5, 5), *week(4, 4, 3, 3, 3, 3, 3), 3, 3, 4, None])
    return patched(
        days, -2, -2, symptoms=("one_leg_weakness",), leg=6, note="My right foot keeps catching on the stairs."
    )


def _nina() -> list[Day]:
    days = pains([*week(5, 5, 5, 5, 4, 5, 5), *same(3, 9), *same(7, 10)])
    days = patched(days, -10, -1, session_pain=3)
    return patched(days, -10, -10, flare=True, note="Lifted a heavy box at work.")


def _hana() -> list[Day]:
    days = pains([*week(5, 5, 5, 5, 4, 5, 4), *same(3, 15)])
    return [replace(d, session_pain=2 if i % 4 == 0 else None) for i, d in enumerate(days)]


def _paul() -> list[Day]:
    return pains([*week(6, 6, 5, 6, 6, 5, 6), *week(5, 5, 6, 5, 5, 5, 6) * 10, *week(5, 5, 6, 5, 5, 5, 6, 5, 5)])


STORIES: tuple[Story, ...] = (
    Story(
        "alex",
        "Alex Turner",
        "emergency today: new saddle numbness and bladder change",
        0,
        "Europe/London",
        1985,
        "medium",
        tuple(_alex()),
        acts=(reviewed(),),
    ),
    Story(
        "jordan",
        "Jordan Lee",
        "improving steadily; the plan progressed week after week",
        0,
        "Europe/London",
        1990,
        "medium",
        tuple(
            pains(
                [
                    *same(7, 7),
                    *week(6, 5, 5, 5, 5, 4, 4),
                    *week(4, 4, 4, 4, 3, 3, 3),
                    *week(3, 3, 3, 3, 3, 2, 2),
                    *same(2, 8),
                ]
            )
        ),
        acts=(reviewed(),),
    ),
    Story(
        "maria",
        "Maria Santos",
        "urgent today: new weakness in one leg reported yesterday",
        0,
        "Europe/London",
        1979,
        "medium",
        tuple(_maria()),
        acts=(reviewed(2),),
    ),
    Story(
        "george",
        "George Whitfield",
        "58 and no better at day 28: GP review within days",
        0,
        "Europe/London",
        1968,
        "medium",
        tuple(pains([6, 6, 7, 6, 6, 6, 6, *same(6, 4), 7, *same(6, 9), 7, *same(6, 8)])),
        acts=(
            reviewed(),
            Act(15, "acknowledge", "no_improvement_2w", "Discussed pacing by phone; reassess at four weeks."),
        ),
    ),
    Story(
        "ruth",
        "Ruth Adeyemi",
        "a fall with osteoporosis: possible fragility fracture",
        1,
        "Europe/London",
        1950,
        "medium",
        tuple(
            patched(
                pains([5, 5, 5, 4, 5, 5, 4, 5, 5, 5, 6, 6, 6]),
                -3,
                -3,
                symptoms=("minor_trauma",),
                session_pain=None,
                note="Slipped on the kitchen floor and landed on my bottom.",
            )
        ),
        acts=(reviewed(),),
        osteoporosis_or_steroids=True,
    ),
    Story(
        "tom",
        "Tom Becker",
        "no meaningful improvement after two weeks",
        1,
        "America/New_York",
        1979,
        "medium",
        tuple(pains(same(5, 17))),
        acts=(reviewed(),),
    ),
    Story(
        "lena",
        "Lena Fischer",
        "stopped logging nine days ago",
        1,
        "Europe/Berlin",
        1982,
        "medium",
        tuple(pains([*week(5, 5, 4, 5, 5, 4, 4), *same(3, 13), *same(None, 9)])),
        acts=(reviewed(),),
    ),
    Story(
        "omar",
        "Omar Haddad",
        "muscle relaxant on most days: medication review",
        1,
        "Asia/Kolkata",
        1975,
        "medium",
        tuple(
            patched(pains([*week(6, 6, 5, 6, 6, 5, 5), *week(4, 4, 3, 4, 3, 4, 3), *same(3, 17)]), 3, -1, relaxant=True)
        ),
        acts=(reviewed(),),
    ),
    Story(
        "nina",
        "Nina Kowalski",
        "a flare-up lasting ten days",
        0,
        "Australia/Sydney",
        1988,
        "medium",
        tuple(_nina()),
        acts=(reviewed(),),
    ),
    Story(
        "ken",
        "Ken Watanabe",
        "night pain known from screening, reported again",
        1,
        "Europe/London",
        1971,
        "medium",
        tuple(patched(pains([*week(5, 5, 5, 4, 5, 4, 4), *same(3, 10), 4, 3, 3]), -3, -3, symptoms=("night_pain",))),
        acts=(
            Act(1, "resolve", "red_flag_urgent_same_day", "GP saw him: mechanical pain, no sinister cause found."),
            Act(1, "resume", note="GP review done: safe to start the exercise plan."),
            reviewed(),
        ),
        red_flags=("night_pain",),
    ),
    Story(
        "sofia",
        "Sofia Rossi",
        "numbness in one leg for eight days",
        1,
        "Europe/London",
        1986,
        "medium",
        tuple(
            patched(
                pains([*week(5, 5, 4, 5, 5, 4, 5), *same(3, 9)], leg_drop=-1), -8, -1, symptoms=("one_leg_numbness",)
            )
        ),
        acts=(reviewed(),),
    ),
    Story(
        "dan",
        "Dan O'Brien",
        "worse for two weeks running",
        0,
        "Europe/London",
        1985,
        "medium",
        tuple(pains([*same(4, 7), *same(5, 7), *same(6, 15)], session_pain=3)),
        acts=(reviewed(),),
    ),
    Story(
        "emma",
        "Emma Clarke",
        "low risk, pain almost gone: plan completed",
        0,
        "Europe/London",
        1992,
        "low",
        tuple(
            pains(
                [4, 4, 4, 4, 3, 4, 3, 3, 3, 3, 2, 3, 2, 2, 2, 2, 2, 1, 2, 1, 1, *same(1, 10), 0, 1, 1, 0, 1], leg_drop=4
            )
        ),
    ),
    Story(
        "leo",
        "Leo Martin",
        "painful sessions in week two: plan eased back",
        0,
        "Europe/London",
        1980,
        "medium",
        tuple(patched(pains([*same(5, 7), *same(3, 16)]), 7, 13, session_pain=6)),
        acts=(reviewed(),),
    ),
    Story(
        "hana",
        "Hana Sato",
        "few exercise sessions: plan held",
        1,
        "Asia/Tokyo",
        1990,
        "medium",
        tuple(_hana()),
        acts=(reviewed(),),
    ),
    Story(
        "chris",
        "Chris Evans",
        "a flare-up that settled: plan restored",
        1,
        "Europe/London",
        1977,
        "medium",
        tuple(
            patched(
                pains([*same(5, 7), *same(3, 6), 5, 4, 4, *same(3, 5)]),
                13,
                13,
                flare=True,
                note="Gardening all weekend.",
            )
        ),
        acts=(reviewed(),),
    ),
    Story(
        "ivy",
        "Ivy Chen",
        "high STarT Back risk: biopsychosocial assessment due",
        1,
        "Europe/London",
        1995,
        "high",
        tuple(pains([6, 6, 7, 6, 6, 6])),
    ),
    Story("max", "Max Novak", "registered yesterday", 0, "Europe/London", 1983, "medium", tuple(pains([None, 5]))),
    Story(
        "olivia",
        "Olivia Brown",
        "doing well: her physiotherapist stepped the level up",
        0,
        "America/Los_Angeles",
        1974,
        "medium",
        tuple(pains([*week(6, 6, 6, 6, 5, 6, 5), *week(4, 4, 4, 3, 4, 4, 4), *week(4, 4, 3, 4, 3, 3, 3), 3, 3])),
        acts=(reviewed(), Act(10, "set_level", note="Managing well in clinic; stepping up to level 3.", level=3)),
        messages=(
            DemoMessage(
                -4,
                18,
                True,
                "The bridge makes my hamstrings ache the next morning. Is that normal, or should I do fewer reps?",
            ),
            DemoMessage(
                -3,
                10,
                False,
                "A mild ache that settles within a day is normal when a level goes up. Keep the reps as they are; "
                "if it lasts into a second day, drop back to 6 reps and tell me.",
            ),
            DemoMessage(-1, 19, True, "Thanks, it settled. I have a long drive on Saturday: anything to do before it?"),
        ),
    ),
    Story(
        "paul",
        "Paul Grant",
        "pain persisting at twelve weeks: refer on",
        1,
        "Europe/London",
        1981,
        "medium",
        tuple(_paul()),
        acts=(
            reviewed(),
            Act(15, "resolve", "no_improvement_2w", "Reassured; continue the graded plan and review at four weeks."),
            Act(29, "resolve", "no_improvement_4w", "Seen in clinic: no red flags; added a walking programme."),
            Act(43, "acknowledge", "no_improvement_6w", "Discussed options; considering a pain clinic referral."),
        ),
    ),
)
