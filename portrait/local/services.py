"""Start and stop the private PostgreSQL cluster that serves as the local warehouse.

The same code starts the demo cluster under ``.local/pg`` and the throwaway clusters the
test suite uses, so both behave alike (C.UTF-8 locale: pg_trgm needs it for Chinese).
Every connection authenticates with scram-sha-256 (TCP on loopback and the socket, which sits
in a folder only the postgres OS user can enter); no `trust` anywhere. The bootstrap superuser's
password is generated; only the role migration (governance.roles) logs in with it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

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
    """A private cluster: data under ``root/data``, log under ``root``, the socket in
    ``root/socket`` (0700, the postgres OS user's). ``password`` is the bootstrap superuser's
    (generated unless given; it must stay the same for the life of the data directory)."""

    root: Path
    port: int
    user: str = "postgres"
    database: str = "portrait"
    bin_dir: Path | None = None
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)

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
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def dsn_for(self, database: str, user: str | None = None, password: str | None = None) -> str:
        """libpq URL of a database on this cluster (the bootstrap superuser by default)."""
        user, password = (user, password) if user else (self.user, self.password)
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        """The bootstrap superuser's URL (password included): for the role migration only."""
        return self.dsn_for(self.database)

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

    def _prepare_socket_dir(self) -> None:
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.socket_dir, 0o700)
        if os.geteuid() == 0:
            shutil.chown(self.socket_dir, "postgres", "postgres")

    def _refuse_trust(self) -> None:
        hba = self.data_dir / "pg_hba.conf"
        text = hba.read_text() if os.access(hba, os.R_OK) else ""
        rules = [line.split() for line in text.splitlines() if not line.lstrip().startswith("#")]
        if any(rule and rule[-1] in ("trust", "password", "md5") for rule in rules):
            raise ServiceError(
                f"The cluster in {self.data_dir} was created with `trust` authentication (before "
                "portrait used passwords). Stop it (`portrait warehouse down`), delete "
                f"{self.root} and run again: `make demo` rebuilds it with scram-sha-256."
            )

    def init(self) -> None:
        self._prepare_root()
        self._prepare_socket_dir()
        if self.is_initialised():
            self._refuse_trust()
            return
        # initdb reads the password from a file: 0600, the server's OS user's, deleted at once.
        pwfile = self.root / ".initdb-pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.password + "\n")
        try:
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres", "postgres")
            result = self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--no-sync",
                "--locale=C.UTF-8",
                "-E",
                "UTF8",
                check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
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
                f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.socket_dir} "
                "-c unix_socket_permissions=0700 -c password_encryption=scram-sha-256 "
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
        from psycopg import sql

        deadline = time.monotonic() + 15
        while True:
            try:
                with psycopg.connect(self.dsn_for("postgres"), autocommit=True) as conn:
                    exists = conn.execute(
                        "select 1 from pg_database where datname = %s", (self.database,)
                    ).fetchone()
                    if not exists:
                        conn.execute(
                            sql.SQL("create database {}").format(sql.Identifier(self.database))
                        )
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def migrate(self, passwords: dict[str, str | None] | None = None, database: str | None = None):
        """Run the role migration (governance.roles) on a database of this cluster."""
        from governance.roles import migrate

        return migrate(self.dsn_for(database or self.database), passwords or {})

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", check=False)

    def destroy(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def local_cluster(settings) -> PgCluster:
    """The demo cluster described by the settings (``.local/pg``); its bootstrap superuser's
    password is PORTRAIT_PG_PASSWORD, else the generated ``.local/secrets/<pg_user>``."""
    from portrait.secrets import local_secret

    return PgCluster(
        root=settings.pg_dir,
        port=settings.pg_port,
        user=settings.pg_user,
        database=settings.pg_database,
        bin_dir=settings.pg_bin_dir,
        password=(
            settings.pg_password.get_secret_value()
            if settings.pg_password is not None
            else local_secret(settings.secrets_dir, settings.pg_user)
        ),
    )


def ensure_warehouse(settings, component: str = "transformer") -> str:
    """Start the private cluster when no external warehouse is configured, run the role
    migration (idempotent), and return the DSN the component logs in with."""
    from governance.roles import migrate

    if settings.uses_private_cluster:
        local_cluster(settings).start()
    migrate(settings.migration_dsn(), settings.login_passwords())
    return settings.warehouse_dsn(component)
