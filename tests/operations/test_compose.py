"""compose.yaml and the Dockerfile, checked by reading them (no container engine here).

Every command a service runs is parsed by the CLI's own argparse, every variable set is
a setting of ``api.config.Settings`` (or the postgres image's ``POSTGRES_*``), the values
pass the production checks, and the image's entry path refuses the development secret.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.cli import build_parser
from api.config import Environment, Settings, env_name
from tests.operations.processes import ROOT, backstep_env, run_cli

SETTINGS = frozenset(env_name(name) for name in Settings.model_fields)
POSTGRES_IMAGE = frozenset({"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"})
# Python's own switches, set by the image for every process.
RUNTIME = frozenset({"PATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR"})
RUNTIME |= {"PIP_DISABLE_PIP_VERSION_CHECK"}
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def backstep_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in compose["services"].items() if "build" in spec}


def assert_backstep_command(command: list[str]) -> None:
    assert command[0] == "backstep", command
    build_parser().parse_args(command[1:])  # SystemExit (a failure) if it is not a real command


def interpolated(value: str, values: dict[str, str]) -> str:
    return INTERPOLATION.sub(lambda m: values[m.group(1)], value)


def test_every_service_runs_a_real_backstep_command(compose: dict[str, Any]) -> None:
    services = backstep_services(compose)
    assert set(services) == {"migrate", "api", "scheduler"}
    for spec in services.values():
        assert_backstep_command(spec["command"])
    assert services["migrate"]["command"] == ["backstep", "migrate"]
    assert services["scheduler"]["command"] == ["backstep", "scheduler"]
    assert services["api"]["command"][:2] == ["backstep", "serve"]


def test_every_variable_is_a_known_setting(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        allowed = SETTINGS if "build" in spec else POSTGRES_IMAGE
        unknown = set(spec.get("environment", {})) - allowed
        assert not unknown, f"{name} sets unknown variables {sorted(unknown)}"
    # What compose substitutes from the operator's environment: the three secrets only.
    text = (ROOT / "compose.yaml").read_text()
    assert {m.group(1) for m in INTERPOLATION.finditer(text)} == {
        "BACKSTEP_JWT_SECRET",
        "BACKSTEP_METRICS_TOKEN",
        "POSTGRES_PASSWORD",
    }


def test_the_settings_pass_the_production_checks(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {"BACKSTEP_JWT_SECRET": "s" * 48, "BACKSTEP_METRICS_TOKEN": "m" * 48, "POSTGRES_PASSWORD": "p" * 24}
    for spec in backstep_services(compose).values():
        for key in [k for k in os.environ if k.startswith("BACKSTEP_") or k == "DATABASE_URL"]:
            monkeypatch.delenv(key)
        for key, value in spec["environment"].items():
            monkeypatch.setenv(key, interpolated(str(value), secrets))
        settings = Settings()
        assert settings.environment is Environment.PRODUCTION
        assert settings.database_url.startswith("postgresql+psycopg://backstep:")
        assert "@db:5432/backstep" in settings.database_url
        assert not settings.run_scheduler_in_process  # schedulers are their own service


def test_the_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("api", "scheduler"):
        assert services[name]["deploy"]["replicas"] == 2
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert services["api"]["ports"] == ["8001-8002:8000"]
    probe = " ".join(services["api"]["healthcheck"]["test"])
    assert "/healthz" in probe and "/readyz" in probe
    # The image's probe is an HTTP one; a scheduler serves no HTTP, so it must not inherit it.
    assert services["scheduler"]["healthcheck"] == {"disable": True}


# --- Dockerfile ------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    instructions = [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for op, args in dockerfile_instructions():
        if op == "ENV":
            env.update(dict(part.split("=", 1) for part in shlex.split(args)))
    return env


def test_the_image_is_production_non_root_with_a_volume_and_no_secrets() -> None:
    instructions = dockerfile_instructions()
    env = image_env()
    assert env["BACKSTEP_ENVIRONMENT"] == "production"
    assert env["DATABASE_URL"] == "sqlite:////app/var/backstep.db"
    assert set(env) <= SETTINGS | RUNTIME
    assert "BACKSTEP_JWT_SECRET" not in env and "BACKSTEP_WEBHOOK_SECRET" not in env
    assert not [args for op, args in instructions if op == "ARG"]
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    volumes = [json.loads(args) for op, args in instructions if op == "VOLUME"]
    assert ["/app/var"] in volumes


def test_the_image_command_runs_real_backstep_commands() -> None:
    (cmd,) = [json.loads(args) for op, args in dockerfile_instructions() if op == "CMD"]
    assert cmd[:2] == ["sh", "-c"]
    for step in cmd[2].split("&&"):
        assert_backstep_command(shlex.split(step.strip().removeprefix("exec ")))


def test_the_image_entry_path_refuses_the_development_secret(tmp_path: Path) -> None:
    """``docker run backstep`` without a secret: the first command refuses, saying why."""
    database = tmp_path / "var" / "backstep.db"
    env = backstep_env(f"sqlite:///{database}")
    env.update({k: v for k, v in image_env().items() if k.startswith("BACKSTEP_") and k != "BACKSTEP_ALEMBIC_INI"})
    refused = run_cli(env, "migrate")
    assert refused.returncode == 2
    assert "BACKSTEP_JWT_SECRET" in refused.stderr and "Traceback" not in refused.stderr
    assert not database.exists()

    env["BACKSTEP_JWT_SECRET"] = "a-real-secret-of-enough-length-0123456789"
    started = run_cli(env, "migrate")
    assert started.returncode == 0, started.stderr
    assert database.exists()
