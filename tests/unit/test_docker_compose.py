"""docker/ checked without a Docker engine: the compose file against the compose
specification's schema (check-jsonschema vendors it), the Dockerfile with hadolint, and the
deployment's own rules on the parsed YAML. Each rule is a function returning its problems;
each has a test on the real files (no problem) and one on a deliberately broken copy (the
problem is named), so a rule that stopped looking would fail. `docker compose config` runs
too where the compose plugin is installed."""

from __future__ import annotations

import copy
import json
import re
import secrets
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
DOCKERFILE = DOCKER / "Dockerfile"
HADOLINT_CONFIG = DOCKER / ".hadolint.yaml"
INIT_SCRIPT = DOCKER / "postgres-init.sh"
BIN = Path(sys.executable).parent

# ${NAME:?message}: compose refuses to start while NAME is unset or empty
REQUIRED_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}")
# a reference compose interpolates ($$ is an escaped dollar, left to the container's shell)
VARIABLE_REF = re.compile(r"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|(^|_)KEY$|(^|_)AUTH$)")
URL_PASSWORD = re.compile(r"://([^:/@\s]*):(\$\{[^}]*\}|[^@\s/]+)@")
# the databases every service reaches: postgresql[+driver]://user:pass@postgres:5432/<db>
POSTGRES_DB = re.compile(r"@postgres:5432/([A-Za-z_][A-Za-z0-9_]*)")


def _load(path: Path = COMPOSE) -> dict:
    return yaml.safe_load(path.read_text())


def _strings(node):
    """Every string value in a parsed YAML tree (keys excluded, comments never parsed)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _one_shot(compose: dict) -> set[str]:
    """Services others wait for to complete: they run once and exit."""
    out = set()
    for service in compose["services"].values():
        depends = service.get("depends_on") or {}
        if isinstance(depends, dict):
            for name, cond in depends.items():
                if (cond or {}).get("condition") == "service_completed_successfully":
                    out.add(name)
    return out


def _locked_version(name: str) -> str:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == name)


def _env_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


# ---- the rules ---------------------------------------------------------------------------------
def port_problems(compose: dict) -> list[str]:
    """Every published port binds 127.0.0.1 on the host."""
    problems = []
    for name, service in compose["services"].items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                ok = port.get("host_ip") == "127.0.0.1"
            else:
                ok = str(port).startswith("127.0.0.1:")
            if not ok:
                problems.append(f"{name}: port {port!r} is not bound to 127.0.0.1")
    return problems


def image_problems(compose: dict) -> list[str]:
    """Every service names its image with a pinned tag (no `latest`, no missing tag)."""
    problems = []
    for name, service in compose["services"].items():
        image = service.get("image")
        if not image:
            problems.append(f"{name}: no image")
            continue
        if "@sha256:" in image:
            continue
        repo, _, tag = image.rpartition(":")
        if not repo or "/" in tag or not tag or tag == "latest" or "$" in image:
            problems.append(f"{name}: image {image!r} has no pinned tag")
    return problems


def healthcheck_problems(compose: dict) -> list[str]:
    """Every long-running service (all but those others wait for to complete) is checked."""
    problems = []
    one_shot = _one_shot(compose)
    for name, service in compose["services"].items():
        if name in one_shot:
            continue
        check = service.get("healthcheck") or {}
        if check.get("disable") or not check.get("test") or check["test"] == ["NONE"]:
            problems.append(f"{name}: long-running without a healthcheck")
    return problems


def secret_problems(compose: dict) -> list[str]:
    """No literal secret: a PASSWORD/SECRET/KEY/AUTH variable's value, a URL's password and
    redis' --requirepass are `${VAR:?...}` references (or the container's own `$${VAR}`)."""
    problems = []
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            secret = SECRET_NAME.search(key) and not key.endswith(("_FILE", "_PATH"))
            if secret and not REQUIRED_REF.fullmatch(value):
                problems.append(f"{name}: {key} is not a ${{VAR:?...}} reference")
    commands = [
        " ".join(map(str, c)) for c in (v.get("command") for v in compose["services"].values())
        if isinstance(c, list)
    ]  # fmt: skip
    for text in [*_strings(compose), *commands]:
        for match in URL_PASSWORD.finditer(text):
            if not REQUIRED_REF.fullmatch(match.group(2)):
                problems.append(f"a URL's password is literal: {match.group(0)[:40]}...")
        for match in re.finditer(r"--requirepass\s+(\S+)", text):
            if "$" not in match.group(1):
                problems.append("redis' --requirepass is literal")
    return problems


def env_problems(compose: dict, env_example: Path = ENV_EXAMPLE) -> list[str]:
    """Every variable compose.yaml interpolates is in .env.example, and nothing else is."""
    used = {m for text in _strings(compose) for m in VARIABLE_REF.findall(text)}
    listed = _env_names(env_example)
    problems = [f"{v} is used in compose.yaml but not in .env.example" for v in used - listed]
    problems += [f"{v} is in .env.example but compose.yaml never uses it" for v in listed - used]
    return sorted(problems)


def postgres_dependency_problems(compose: dict) -> list[str]:
    """Every service that talks to postgres waits for it to be healthy."""
    problems = []
    for name, service in compose["services"].items():
        if name == "postgres":
            continue
        depends = service.get("depends_on") or {}
        text = json.dumps(service)
        if "@postgres:" not in text and "postgres" not in depends:
            continue
        if (
            isinstance(depends, list)
            or (depends.get("postgres") or {}).get("condition") != "service_healthy"
        ):
            problems.append(f"{name}: uses postgres without waiting for service_healthy")
    return problems


def dockerfile_problems(dockerfile: Path = DOCKERFILE) -> list[str]:
    """Every FROM is pinned; the one FROM is the official Airflow image at the locked version."""
    froms = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.M)
    problems = []
    for image in froms:
        _, _, tag = image.rpartition(":")
        if ":" not in image or tag == "latest" or "/" in tag:
            problems.append(f"FROM {image} is not pinned")
    wanted = f"apache/airflow:{_locked_version('apache-airflow')}-python3.11"
    if froms != [wanted]:
        problems.append(f"FROM {froms} is not [{wanted}] (uv.lock's apache-airflow)")
    return problems


def init_script_problems(compose: dict, script: Path = INIT_SCRIPT) -> list[str]:
    """The init script creates the three databases (Airflow's, MLflow's, the warehouse) and
    every database a service's URL names, and is mounted into postgres' init folder."""
    created = set(re.findall(r"create database (\w+)", script.read_text(), flags=re.I))
    problems = [
        f"{db} is not created" for db in sorted({"airflow", "mlflow", "portrait"} - created)
    ]
    named = {db for text in _strings(compose) for db in POSTGRES_DB.findall(text)}
    problems += [f"{db} is used in compose.yaml but not created" for db in sorted(named - created)]
    mounts = compose["services"]["postgres"].get("volumes") or []
    if not any(f"./{script.name}:/docker-entrypoint-initdb.d/" in str(m) for m in mounts):
        problems.append(f"{script.name} is not mounted into /docker-entrypoint-initdb.d")
    return sorted(problems)


# ---- the real files pass -----------------------------------------------------------------------
def test_compose_validates_against_the_compose_specification():
    run = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_dockerfile_passes_hadolint():
    run = subprocess.run(
        [str(BIN / "hadolint"), "--config", str(HADOLINT_CONFIG), str(DOCKERFILE)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_deployment_has_the_services_issue_20_names():
    services = set(_load()["services"])
    assert {
        "postgres", "redis", "airflow-init", "airflow-apiserver", "airflow-scheduler",
        "airflow-dag-processor", "airflow-triggerer", "airflow-worker", "mlflow", "profile",
    } <= services  # fmt: skip
    env = _environment(_load()["services"]["airflow-worker"])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-apiserver:8080/execution/"
    )
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


@pytest.mark.parametrize(
    "rule",
    [
        port_problems, image_problems, healthcheck_problems, secret_problems, env_problems,
        postgres_dependency_problems, init_script_problems,
    ],
)  # fmt: skip
def test_compose_keeps_the_rule(rule):
    assert rule(_load()) == []


def test_dockerfile_is_pinned_to_the_locked_airflow():
    assert dockerfile_problems() == []


def test_docker_env_is_git_ignored():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", "docker/.env"], cwd=REPO)
    assert ignored.returncode == 0, "docker/.env (the deployment's secrets) is not git-ignored"
    tracked = subprocess.run(["git", "check-ignore", "-q", "docker/.env.example"], cwd=REPO)
    assert tracked.returncode == 1, "docker/.env.example must stay tracked"


LITERAL_URL = "postgresql://mlflow:literal@postgres:5432/mlflow"  # pragma: allowlist secret


# ---- each rule rejects a broken copy -----------------------------------------------------------
def _broken(change) -> dict:
    compose = copy.deepcopy(_load())
    change(compose["services"])
    return compose


def test_schema_rejects_an_unknown_service_key(tmp_path):
    compose = _broken(lambda s: s["redis"].update(helthcheck={"test": ["CMD", "true"]}))
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(compose))
    run = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode != 0 and "helthcheck" in run.stdout + run.stderr


def test_hadolint_rejects_an_unpinned_image(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM apache/airflow:latest\nRUN apt-get update && apt-get install -y curl\n")
    run = subprocess.run(
        [str(BIN / "hadolint"), "--config", str(HADOLINT_CONFIG), str(bad)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode != 0 and "DL3007" in run.stdout


def test_a_port_on_every_interface_is_rejected():
    compose = _broken(lambda s: s["mlflow"].update(ports=["5000:5000"]))
    assert port_problems(compose) == ["mlflow: port '5000:5000' is not bound to 127.0.0.1"]
    compose = _broken(lambda s: s["mlflow"].update(ports=[{"target": 5000, "published": 5000}]))
    assert len(port_problems(compose)) == 1


@pytest.mark.parametrize("image", ["redis", "redis:latest", "redis:${REDIS_TAG}", "host:5000/r"])
def test_an_unpinned_image_is_rejected(image):
    compose = _broken(lambda s: s["redis"].update(image=image))
    assert image_problems(compose) == [f"redis: image {image!r} has no pinned tag"]


def test_a_long_running_service_without_healthcheck_is_rejected():
    compose = _broken(lambda s: s["airflow-triggerer"].pop("healthcheck"))
    assert healthcheck_problems(compose) == [
        "airflow-triggerer: long-running without a healthcheck"
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["postgres"]["environment"].update(POSTGRES_PASSWORD="hunter2hunter2"),
        lambda s: s["postgres"]["environment"].update(POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-pw}"),
        lambda s: s["mlflow"]["environment"].update(MLFLOW_BACKEND_STORE_URI=LITERAL_URL),
        lambda s: s["redis"].update(command=["redis-server", "--requirepass", "literal"]),
    ],
)
def test_a_literal_secret_is_rejected(change):
    assert secret_problems(_broken(change))


def test_a_variable_missing_from_env_example_is_rejected(tmp_path):
    compose = _broken(
        lambda s: s["profile"]["environment"].update(X_NEW="${NEW_TOKEN:?set NEW_TOKEN}")
    )
    assert env_problems(compose) == ["NEW_TOKEN is used in compose.yaml but not in .env.example"]
    extra = tmp_path / ".env.example"
    extra.write_text(ENV_EXAMPLE.read_text() + "UNUSED_SETTING=\n")
    assert env_problems(_load(), extra) == [
        "UNUSED_SETTING is in .env.example but compose.yaml never uses it"
    ]


def test_a_service_not_waiting_for_healthy_postgres_is_rejected():
    compose = _broken(
        lambda s: s["mlflow"].update(depends_on={"postgres": {"condition": "service_started"}})
    )
    assert postgres_dependency_problems(compose) == [
        "mlflow: uses postgres without waiting for service_healthy"
    ]
    compose = _broken(lambda s: s["profile"].update(depends_on=["postgres"]))
    assert postgres_dependency_problems(compose) == [
        "profile: uses postgres without waiting for service_healthy"
    ]


@pytest.mark.parametrize(
    "base", ["apache/airflow:latest", "apache/airflow", "apache/airflow:2.10.5-python3.11"]
)
def test_a_dockerfile_off_the_lock_is_rejected(tmp_path, base):
    bad = tmp_path / "Dockerfile"
    bad.write_text(re.sub(r"^FROM \S+", f"FROM {base}", DOCKERFILE.read_text(), flags=re.M))
    assert dockerfile_problems(bad)


def test_an_init_script_missing_a_database_is_rejected(tmp_path):
    bad = tmp_path / INIT_SCRIPT.name
    bad.write_text(INIT_SCRIPT.read_text().replace("create database mlflow owner", "-- "))
    assert init_script_problems(_load(), bad) == [
        "mlflow is not created",
        "mlflow is used in compose.yaml but not created",
    ]
    bad.write_text(INIT_SCRIPT.read_text().replace("create database mlflow_auth", "-- "))
    assert init_script_problems(_load(), bad) == [
        "mlflow_auth is used in compose.yaml but not created"
    ]


# ---- docker compose itself, where the plugin is installed ----------------------------------------
def _compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    run = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return run.returncode == 0


def _filled_env(path: Path, skip: str | None = None) -> Path:
    lines = []
    for name in sorted(_env_names(ENV_EXAMPLE)):
        value = "" if name == skip else secrets.token_urlsafe(24)
        lines.append(f"{name}={value}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.skipif(
    not _compose_plugin(),
    reason="`docker compose` (the Compose plugin) is not installed: only the schema was checked",
)
def test_docker_compose_config_accepts_a_filled_env_and_refuses_a_missing_secret(tmp_path):
    def config(env: Path):
        return subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE), "--env-file", str(env), "config", "-q"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    run = config(_filled_env(tmp_path / "full.env"))
    assert run.returncode == 0, run.stderr
    run = config(_filled_env(tmp_path / "partial.env", skip="REDIS_PASSWORD"))
    assert run.returncode != 0 and "set REDIS_PASSWORD in docker/.env" in run.stderr
