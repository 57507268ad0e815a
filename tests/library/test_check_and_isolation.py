"""The ``python -m exercise_library.check`` entry point and the package's import isolation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exercise_library.check import main

FORBIDDEN_IMPORTS = ("fastapi", "sqlmodel", "sqlalchemy", "httpx2", "starlette", "api")


def test_check_prints_a_summary_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "exercise library OK" in out
    assert "template graded-exercise (risk group medium)" in out


def test_check_fails_with_the_error_on_broken_data(data_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (data_copy / "plans" / "medium.yaml").write_text("id: [", encoding="utf-8")
    assert main([str(data_copy)]) == 1
    err = capsys.readouterr().err
    assert "INVALID" in err
    assert "data/plans/medium.yaml" in err


def test_check_refuses_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--verbose"]) == 2
    assert "usage" in capsys.readouterr().err


def test_check_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exercise_library.check"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "exercise library OK" in result.stdout


def test_exercise_library_imports_no_web_or_database_code() -> None:
    probe = (
        "import sys, exercise_library, exercise_library.check; "
        "from exercise_library import get_library; get_library(); "
        f"print(','.join(m for m in {FORBIDDEN_IMPORTS!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
