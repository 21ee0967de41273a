"""The team image extends the official Airflow image at the version the lock pins."""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _locked_version(name: str) -> str:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == name)


def test_dockerfile_extends_the_official_airflow_image_at_the_locked_version():
    text = (REPO / "docker" / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert froms == [f"apache/airflow:{_locked_version('apache-airflow')}-python3.11"]
    assert "requirements.txt" in text, "the image installs the locked requirements"
