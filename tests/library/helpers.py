"""Plain helpers shared by the library tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from exercise_library import Prescribed

YamlEdit = Callable[[Any], None]


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_yaml(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def edit_yaml(path: Path, edit: YamlEdit) -> None:
    data = read_yaml(path)
    edit(data)
    write_yaml(path, data)


def volume(item: Prescribed) -> int:
    """A crude training volume, to compare prescriptions of the same exercises."""
    return item.sets * (item.reps or 1) * (item.hold_seconds or 1) * (item.minutes or 1)


def total_volume(items: tuple[Prescribed, ...]) -> int:
    return sum(volume(item) for item in items)
