"""What portrait needs from the machine beyond Python packages, installed by
`portrait setup system` (run by `make install`); each check is a fast no-op when present:

- PostgreSQL's server (Debian's `postgresql` and `postgresql-contrib`, for pg_trgm) when no
  initdb/pg_ctl is found, and the warehouse's pgaudit extension (`postgresql-<major>-pgaudit`);
- Redis (Debian's `redis-server`), the Celery broker and event bus of `portrait cluster`;
- Debian's Chromium, which the profile panel's browser tests drive (no browser download);
- Apache ECharts, the panel's charting library, from the npm registry (a pinned release,
  checked against its published integrity), unpacked under `.local/static/`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

# The ECharts release the panel is written against, and npm's integrity of its tarball.
ECHARTS_VERSION = "5.6.0"
# (a public checksum, not a secret)
ECHARTS_INTEGRITY = "sha512-" + (
    "oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHG"  # pragma: allowlist secret
    "CBKP5NPFNkDVopOieyUqYGH8Fa3kA=="  # pragma: allowlist secret
)
CHROMIUM = Path("/usr/bin/chromium")
REDIS_SERVER = "redis-server"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


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
    return _apt_install(package)


def ensure_postgres() -> str:
    """Debian's PostgreSQL server and contrib (pg_trgm) when no server binaries are found; the
    package's own cluster is not used (portrait runs private clusters), so it is stopped."""
    from portrait.local.services import ServiceError, find_pg_bin_dir

    try:
        return f"postgresql: present ({find_pg_bin_dir(None)})"
    except ServiceError:
        pass
    lines = [_apt_install(package) for package in ("postgresql", "postgresql-contrib")]
    _stop_package_service("postgresql")
    return "\n".join(lines)


def _stop_package_service(name: str) -> None:
    """Debian's server packages start a system-wide service where an init system runs; ours
    are private clusters on ports of their own, so do not leave an unused one listening."""
    if shutil.which("service"):
        subprocess.run(["service", name, "stop"], capture_output=True, check=False)


def redis_server() -> str | None:
    """The redis-server executable, or None."""
    return shutil.which(REDIS_SERVER) or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def ensure_redis() -> str:
    """Debian's redis-server, the Celery broker `portrait cluster` and its tests start on a
    port of their own (the package's own service is stopped if apt started one)."""
    if redis_server():
        return "redis-server: present"
    line = _apt_install("redis-server")
    _stop_package_service("redis-server")
    return line


def ensure_chromium() -> str:
    """Debian's Chromium for the panel's browser tests (Playwright drives /usr/bin/chromium),
    and a CJK font so that the panel's Chinese renders in it (and in its screenshots)."""
    lines = []
    for package, present in (
        ("chromium", CHROMIUM.exists()),
        ("fonts-wqy-microhei", Path(CJK_FONT).exists()),
    ):
        lines.append(f"{package}: present" if present else _apt_install(package))
    return "\n".join(lines)


def echarts_path(static_dir: Path) -> Path:
    return Path(static_dir) / "echarts" / ECHARTS_VERSION / "echarts.min.js"


def ensure_echarts(static_dir: Path) -> str:
    """ECharts' minified build under `static_dir` (the pinned release from the npm registry,
    its tarball checked against npm's sha512 integrity before it is unpacked)."""
    target = echarts_path(static_dir)
    if target.exists():
        return f"echarts {ECHARTS_VERSION}: present"
    if not shutil.which("npm"):
        return f"echarts {ECHARTS_VERSION}: missing, and no npm here — the panel draws no charts"
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            ["npm", "pack", f"echarts@{ECHARTS_VERSION}", "--silent"],
            cwd=tmp, capture_output=True, text=True, check=False,
        )  # fmt: skip
        tarballs = list(Path(tmp).glob("echarts-*.tgz"))
        if proc.returncode != 0 or not tarballs:
            return f"echarts {ECHARTS_VERSION}: npm pack failed:\n{proc.stderr.strip()[-1000:]}"
        data = tarballs[0].read_bytes()
        digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != ECHARTS_INTEGRITY:
            return f"echarts {ECHARTS_VERSION}: the tarball's integrity {digest} is not npm's"
        with tarfile.open(tarballs[0]) as tar:
            member = tar.extractfile("package/dist/echarts.min.js")
            if member is None:
                return f"echarts {ECHARTS_VERSION}: no dist/echarts.min.js in the tarball"
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            partial.write_bytes(member.read())
            partial.replace(target)
    return f"echarts {ECHARTS_VERSION}: installed"


def _apt_install(package: str) -> str:
    """apt-get install one Debian package (refreshing the lists once if that fails)."""
    if not shutil.which("apt-get"):
        return f"{package}: missing, and no apt-get here — install it by hand"
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
