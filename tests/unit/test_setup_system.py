"""`portrait setup system`: pgaudit is found where the server keeps its libraries, and the
cluster loads it (with its audit settings) only when it is there."""

from __future__ import annotations

import time

from portrait.local import system
from portrait.local.services import PgCluster


def _server(tmp_path, with_pgaudit: bool):
    bin_dir = tmp_path / "15" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl"):
        (bin_dir / tool).touch()
    (tmp_path / "15" / "lib").mkdir()
    if with_pgaudit:
        (tmp_path / "15" / "lib" / "pgaudit.so").touch()
    return bin_dir


def test_present_pgaudit_is_a_fast_no_op(tmp_path):
    bin_dir = _server(tmp_path, with_pgaudit=True)
    assert system.pgaudit_package(bin_dir) == "postgresql-15-pgaudit"
    started = time.monotonic()
    assert system.ensure_pgaudit(bin_dir) == "postgresql-15-pgaudit: present"
    assert time.monotonic() - started < 1


def test_cluster_loads_pgaudit_only_when_installed(tmp_path):
    with_it = PgCluster(root=tmp_path / "a", port=1, bin_dir=_server(tmp_path / "x", True))
    without = PgCluster(root=tmp_path / "b", port=1, bin_dir=_server(tmp_path / "y", False))
    opts = with_it._audit_options()
    for setting in (
        "shared_preload_libraries=pgaudit", "pgaudit.log=role,ddl",
        "pgaudit.role=portrait_auditor", "pgaudit.log_client=off", "log_destination=stderr,csvlog",
    ):  # fmt: skip
        assert setting in opts
    assert "%m" in opts and "%u" in opts and "%r" in opts and "%a" in opts
    assert without._audit_options() == ""
    assert with_it.audit_log == tmp_path / "a" / "log" / "postgresql.csv"
