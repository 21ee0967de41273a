"""Local-mode secrets: random passwords generated on first use under ``.local/secrets``.

One file per login (``.local/secrets/<login>``, mode 0600, folder 0700), so the private
warehouse never runs on a password written in code or config. Nothing here prints a secret.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

_LOGIN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def local_secret(directory: Path, name: str) -> str:
    """The secret stored under ``directory/name``, generated (and stored 0600) if missing."""
    if not _LOGIN.fullmatch(name):
        raise ValueError(f"not a login name: {name!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    path = directory / name
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(24)
    # O_EXCL: two processes starting at once keep the first one's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
