"""System packages the warehouse needs beyond PostgreSQL itself: the pgaudit extension.

`portrait setup system` (run by `make install`) installs Debian's `postgresql-<major>-pgaudit`
with apt-get when it is missing; when it is present the check is one `dpkg -s` (a fast no-op).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def pgaudit_package(pg_bin_dir: Path) -> str:
    """Debian's pgaudit package for the server in `pg_bin_dir` (/usr/lib/postgresql/<v>/bin)."""
    major = Path(pg_bin_dir).resolve().parent.name
    return f"postgresql-{major}-pgaudit"


def pgaudit_available(pg_bin_dir: Path) -> bool:
    """pgaudit's shared library sits in the server's library folder."""
    libdir = Path(pg_bin_dir).resolve().parent / "lib"
    return (libdir / "pgaudit.so").exists()


def _installed(package: str) -> bool:
    if not shutil.which("dpkg"):
        return False
    proc = subprocess.run(
        ["dpkg", "-s", package], capture_output=True, text=True, check=False
    )  # fmt: skip
    return proc.returncode == 0 and "Status: install ok installed" in proc.stdout


def ensure_pgaudit(pg_bin_dir: Path) -> str:
    """Install pgaudit when missing; return what happened (one line for the user)."""
    package = pgaudit_package(pg_bin_dir)
    if pgaudit_available(pg_bin_dir) or _installed(package):
        return f"{package}: present"
    if not shutil.which("apt-get"):
        return f"{package}: missing, and no apt-get here — install pgaudit for your server by hand"
    if os.geteuid() != 0:
        return f"{package}: missing — run `sudo apt-get install -y {package}`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", package],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        # the package lists may be missing or stale: refresh them once
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)
        proc = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", package],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
    if proc.returncode != 0:
        return f"{package}: apt-get install failed:\n{proc.stderr.strip()[-1000:]}"
    return f"{package}: installed"
