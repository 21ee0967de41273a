"""Start and stop the private PostgreSQL cluster that serves as the local warehouse.

The same code starts the demo cluster under ``.local/pg`` and the throwaway clusters the
test suite uses, so both behave alike (C.UTF-8 locale: pg_trgm needs it for Chinese).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

POSTGRES_PACKAGE_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install them "
    "(Debian/Ubuntu: `apt-get install postgresql`, which provides /usr/lib/postgresql/<v>/bin), "
    "set PORTRAIT_PG_BIN_DIR to the folder holding them, or point PORTRAIT_WAREHOUSE_URL at "
    "an existing PostgreSQL server."
)


class ServiceError(RuntimeError):
    """A local service could not be started or reached; the message says what to do."""


def find_pg_bin_dir(explicit: Path | None = None) -> Path:
    """The folder with initdb/pg_ctl: explicit, then PATH, then /usr/lib/postgresql/<newest>."""
    if explicit is not None:
        if (Path(explicit) / "pg_ctl").exists():
            return Path(explicit)
        raise ServiceError(f"PORTRAIT_PG_BIN_DIR={explicit} has no pg_ctl. {POSTGRES_PACKAGE_HINT}")
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise ServiceError(POSTGRES_PACKAGE_HINT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


@dataclass
class PgCluster:
    """A private cluster: data under ``root/data``, socket and log under ``root``."""

    root: Path
    port: int
    user: str = "portrait"
    database: str = "portrait"
    bin_dir: Path | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.bin_dir = find_pg_bin_dir(self.bin_dir)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    # initdb and postgres refuse to run as root: run them as the postgres OS user.
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check)

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            probe = subprocess.run(
                ["runuser", "-u", "postgres", "--", "test", "-w", str(self.root)],
                capture_output=True,
            )
            if probe.returncode != 0:
                raise ServiceError(
                    f"The postgres OS user cannot write {self.root} (a parent folder is not "
                    "traversable). Move the checkout, set PORTRAIT_LOCAL_DIR to a folder the "
                    "postgres user can reach, or set PORTRAIT_WAREHOUSE_URL."
                )

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def init(self) -> None:
        self._prepare_root()
        if self.is_initialised():
            return
        result = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "-A",
            "trust",
            "--no-sync",
            "--locale=C.UTF-8",
            "-E",
            "UTF8",
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed for {self.data_dir}:\n{result.stderr.strip()}")

    def start(self, timeout: float = 30.0) -> None:
        """Initialise if needed, start, and create the database; a running cluster is kept."""
        self.init()
        if not self.is_running():
            if _port_open(self.port):
                raise ServiceError(
                    f"Port {self.port} is already taken by another program. Set PORTRAIT_PG_PORT "
                    "to a free port, or stop the program using it."
                )
            opts = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=100 -c shared_buffers=256MB -c work_mem=64MB "
                "-c maintenance_work_mem=256MB"
            ) + self._audit_options()
            result = self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                opts,
                "-w",
                "-t",
                str(int(timeout)),
                check=False,
            )
            if result.returncode != 0:
                tail = (
                    self.log_file.read_text(errors="replace")[-2000:]
                    if self.log_file.exists()
                    else ""
                )
                raise ServiceError(
                    f"PostgreSQL did not start (data {self.data_dir}, port {self.port}):\n"
                    f"{result.stderr.strip()}\n{tail}"
                )
        self._ensure_database()

    @property
    def audit_log(self) -> Path:
        """The server's CSV log (pgaudit lines and connections), read by `portrait audit`."""
        return self.root / "log" / "postgresql.csv"

    def _audit_options(self) -> str:
        """pgaudit when the server has it (`portrait setup system` installs it): DDL and role
        changes logged, every read of a table portrait_auditor may read logged (object audit),
        nothing sent to clients; a CSV log whose lines name time, user, client and application."""
        if not (self.bin_dir.parent / "lib" / "pgaudit.so").exists():
            return ""
        return (
            " -c shared_preload_libraries=pgaudit -c pgaudit.log=role,ddl"
            " -c pgaudit.role=portrait_auditor -c pgaudit.log_client=off"
            " -c pgaudit.log_relation=on -c logging_collector=on"
            f" -c log_destination=stderr,csvlog -c log_directory={self.root / 'log'}"
            " -c log_filename=postgresql.log -c log_file_mode=0640"
            " -c log_line_prefix='%m [%p] user=%u db=%d client=%r app=%a '"
        )

    def _ensure_database(self) -> None:
        import psycopg

        deadline = time.monotonic() + 15
        while True:
            try:
                with psycopg.connect(
                    f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres", autocommit=True
                ) as conn:
                    exists = conn.execute(
                        "select 1 from pg_database where datname = %s", (self.database,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f'create database "{self.database}"')
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", check=False)

    def destroy(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def local_cluster(settings) -> PgCluster:
    """The demo cluster described by the settings (``.local/pg``)."""
    return PgCluster(
        root=settings.pg_dir,
        port=settings.pg_port,
        user=settings.pg_user,
        database=settings.pg_database,
        bin_dir=settings.pg_bin_dir,
    )


def ensure_warehouse(settings) -> str:
    """Start the private cluster when no external warehouse is configured; return the DSN."""
    if settings.uses_private_cluster:
        local_cluster(settings).start()
        _ensure_access_objects(settings.warehouse_dsn())
    return settings.warehouse_dsn()


def _ensure_access_objects(dsn: str) -> None:
    """The group roles, staff_logins and audit table dbt's grants and policies name (until the
    roles migration creates them)."""
    import psycopg

    from governance.audit import ensure_access_objects

    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_access_objects(conn)
