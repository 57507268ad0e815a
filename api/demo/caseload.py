"""A third physiotherapist's caseload, two weeks in: what makes the demo's outcomes page worth opening.

The clinic's outcomes report shows a count only for 5 patients or more, so each
classification of the day-14 checkpoint needs five patients of its own to be seen: Lee
Morgan's sixteen patients started 15 days ago and log every other day, and their second
week is worse than, about the same as, or much lower than the first, or too sparsely
logged to judge. With the first two physiotherapists' patients (mostly improving) every
classification is on the page. As everywhere in the demo, the rules decide: the stories
only say what each patient logged.
"""

from __future__ import annotations

from api.demo.stories import Day, Risk, Story, pains

LEE = 2  # index of Lee Morgan in api.seed.CLINICIANS
LENGTH = 16  # registered 15 days ago: programme day 14 is over


def _every_other_day(week1: tuple[int, int, int, int], week2: tuple[int | None, ...]) -> tuple[Day, ...]:
    """Logs on days 0, 2, 4, 6 (week 1) and 7, 9, 11, 13 (week 2, None: skipped), then 14 and 15."""
    values: list[int | None] = [None] * LENGTH
    for i, v in zip((0, 2, 4, 6), week1, strict=True):
        values[i] = v
    for i, later in zip((7, 9, 11, 13), week2, strict=True):
        values[i] = later
    last = next(v for v in reversed(week2) if v is not None)
    values[14] = values[15] = last
    return tuple(pains(values))


def _story(key: str, name: str, about: str, risk: Risk, days: tuple[Day, ...], birth_year: int) -> Story:
    return Story(key, name, about, LEE, "Europe/London", birth_year, risk, days)


_WORSE = "worse than week 1 at day 14"
_MINIMAL = "almost no pain by day 14"
_SPARSE = "too few logs in week 2 to judge day 14"

CASELOAD: tuple[Story, ...] = (
    _story("yusuf", "Yusuf Demir", _WORSE, "high", _every_other_day((4, 4, 4, 4), (6, 7, 6, 7)), 1971),
    _story("lucy", "Lucy Brennan", _WORSE, "high", _every_other_day((3, 4, 3, 4), (6, 6, 6, 6)), 1966),
    _story("ivan", "Ivan Petrov", _WORSE, "high", _every_other_day((5, 5, 4, 5), (7, 8, 7, 7)), 1979),
    _story("grace", "Grace Mensah", _WORSE, "high", _every_other_day((2, 3, 2, 3), (5, 5, 5, 5)), 1988),
    _story("tariq", "Tariq Walsh", _WORSE, "high", _every_other_day((4, 5, 4, 4), (7, 6, 7, 7)), 1959),
    _story("aisha", "Aisha Rahman", _MINIMAL, "low", _every_other_day((3, 2, 3, 2), (1, 0, 1, 0)), 1990),
    _story("ben", "Ben Carter", _MINIMAL, "low", _every_other_day((4, 3, 3, 3), (1, 1, 1, 1)), 1983),
    _story("chloe", "Chloe Barnes", _MINIMAL, "low", _every_other_day((2, 2, 3, 2), (0, 0, 1, 0)), 1995),
    _story("dev", "Dev Patel", _MINIMAL, "low", _every_other_day((3, 3, 3, 3), (1, 0, 0, 1)), 1976),
    _story("ella", "Ella Lindqvist", _MINIMAL, "low", _every_other_day((4, 4, 3, 4), (1, 1, 0, 1)), 1981),
    _story("femi", "Femi Okoro", _SPARSE, "medium", _every_other_day((5, 5, 5, 5), (4, None, None, 4)), 1969),
    _story("gwen", "Gwen Hughes", _SPARSE, "medium", _every_other_day((6, 5, 6, 5), (5, None, 5, None)), 1974),
    _story("hugo", "Hugo Laurent", _SPARSE, "medium", _every_other_day((5, 6, 5, 6), (None, None, None, 5)), 1962),
    _story("iris", "Iris Moreau", _SPARSE, "medium", _every_other_day((4, 5, 4, 5), (4, 4, None, None)), 1986),
    _story("jack", "Jack Dunn", _SPARSE, "medium", _every_other_day((6, 6, 6, 6), (None, 5, None, 5)), 1957),
    _story(
        "kira",
        "Kira Tanaka",
        "about the same as week 1 at day 14",
        "low",
        _every_other_day((5, 5, 5, 5), (5, 4, 5, 5)),
        1992,
    ),
)
