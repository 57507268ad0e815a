"""Validate the exercise library: ``python -m exercise_library.check [DATA_DIR]``.

Prints a summary and exits 0, or prints every problem and exits 1.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from exercise_library.library import Library, LibraryError
from exercise_library.loader import load_library
from exercise_library.schema import CATEGORIES


def summary(library: Library) -> str:
    counts = Counter(exercise.category for exercise in library.exercises.values())
    lines = [f"exercise library OK: {len(library.exercises)} exercises"]
    lines += [f"  {category}: {counts[category]}" for category in CATEGORIES]
    for template in library.templates.values():
        lines.append(f"template {template.id} (risk group {template.risk_group}): {len(template.levels)} levels")
        for level in template.levels:
            lines.append(
                f"  {level.number}. {level.name}: {len(level.exercises)} exercises, "
                f"{level.sessions_per_week}/week, walking {level.walking_minutes} min/day"
            )
    for instrument in library.instruments.values():
        name = f"{instrument.name} {instrument.version}"
        lines.append(f"instrument {instrument.id} ({name}): {len(instrument.items)} items")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        print("usage: python -m exercise_library.check [DATA_DIR]", file=sys.stderr)
        return 2
    try:
        library = load_library(Path(args[0]) if args else None)
    except LibraryError as exc:
        print(f"exercise library INVALID:\n{exc}", file=sys.stderr)
        return 1
    print(summary(library))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
