"""How to connect without a password on screen: a libpq password file and a service file
under .local (mode 0600), and output scrubbed of every secret the settings hold."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import SecretStr

from portrait.settings import Settings


def secrets_dir(settings: Settings) -> Path:
    return settings.local_dir / "secrets"


def pgpass_file(settings: Settings) -> Path:
    return secrets_dir(settings) / "pgpass"


def service_file(settings: Settings) -> Path:
    return settings.local_dir / "pg_service.conf"


def _write_private(path: Path, text: str, private_dir: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if private_dir:  # not .local itself: the postgres OS user traverses it to .local/pg
        os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # an older file keeps its mode through O_CREAT


def _pgpass_field(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def write_client_files(settings: Settings, dsns: dict[str, str]) -> tuple[Path, Path]:
    """A pgpass line and a `[service]` section per login (service name -> libpq URL)."""
    passfile, services = pgpass_file(settings), service_file(settings)
    pass_lines, sections = [], []
    for name, dsn in dsns.items():
        url = urlsplit(dsn)
        host, port = url.hostname or "127.0.0.1", str(url.port or 5432)
        user, db = unquote(url.username or ""), url.path.lstrip("/") or "postgres"
        if url.password:
            fields = [host, port, db, user, unquote(url.password)]
            pass_lines.append(":".join(_pgpass_field(f) for f in fields))
        sections.append(
            f"[{name}]\nhost={host}\nport={port}\ndbname={db}\nuser={user}\npassfile={passfile}\n"
        )
    _write_private(passfile, "".join(f"{line}\n" for line in pass_lines), private_dir=True)
    _write_private(services, "\n".join(sections))
    return passfile, services


def known_secrets(settings: Settings) -> set[str]:
    """Every secret value the settings hold or local mode generated (files in .local/secrets)."""
    found: set[str] = set()
    for field in type(settings).model_fields:
        value = getattr(settings, field)
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
            found.add(text)
            if "://" in text and urlsplit(text).password:
                found.add(unquote(urlsplit(text).password))
    password = settings.warehouse_parts()["password"]
    if password:
        found.add(password)
    folder = secrets_dir(settings)
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and path.name != "pgpass":
                found.add(path.read_text().strip())
    return {s for s in found if len(s) >= 4}


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}"))


def scrub(text: str, secrets: set[str]) -> str:
    """The text with every known secret replaced (the last guard before printing)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "********")
    return text


def client_dsns(settings: Settings) -> dict[str, str]:
    """The pg_service entries: `portrait` (the analyst's login, what people query), one
    `portrait_<component>` per component login, and `portrait_migration` (the role migration's
    login: the private cluster's bootstrap superuser)."""
    from portrait.settings import COMPONENT_LOGINS

    dsns = {"portrait": settings.warehouse_dsn("analyst")}
    dsns |= {f"portrait_{c}": settings.warehouse_dsn(c) for c in COMPONENT_LOGINS}
    return dsns | {"portrait_migration": settings.migration_dsn()}


def connect_hint(settings: Settings, dsn: str | None = None, service: str = "portrait") -> str:
    """`psql service=…` (default: the analyst's login), every login's password kept in the
    pgpass file; `dsn` adds an entry of its own under `service`."""
    dsns = client_dsns(settings) | ({service: dsn} if dsn else {})
    _, services = write_client_files(settings, dsns)
    return f'PGSERVICEFILE={services} psql "service={service}"'


def printable_env(settings: Settings) -> dict[str, str]:
    """`portrait env` without a password: URLs lose theirs, password variables are left out,
    libpq (psql, dbt, Airflow's hooks) finds them in the pgpass file instead."""
    secrets = known_secrets(settings)
    passfile, services = write_client_files(settings, client_dsns(settings))
    out = {}
    for key, value in settings.service_env().items():
        if "://" in value:
            value = without_password(value)
        if value in secrets or any(s in value for s in secrets):
            continue
        out[key] = value
    return {**out, "PGPASSFILE": str(passfile), "PGSERVICEFILE": str(services)}
