from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exercise_library import DEFAULT_ROOT, Library, get_library


@pytest.fixture(scope="session")
def library() -> Library:
    return get_library()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped data directory, named ``data`` like the original."""
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_ROOT, target)
    return target
