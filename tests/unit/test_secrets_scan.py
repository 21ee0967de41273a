"""The secret scan of `make lint`: the committed baseline holds no finding, a new one fails."""

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / ".venv" / "bin" / "detect-secrets-hook"


def test_the_baseline_holds_no_finding():
    baseline = json.loads((REPO / ".secrets.baseline").read_text())
    assert baseline["results"] == {}


def test_a_new_password_fails_the_scan(tmp_path):
    leak = tmp_path / "leak.py"
    # pragma: allowlist nextline secret
    leak.write_text('DSN = "postgresql://portrait:hunter2hunter2@db/x"\n')
    clean = tmp_path / "clean.py"
    clean.write_text('DSN = "postgresql://<user>:<password>@db/x"\n')
    args = [str(HOOK), "--baseline", str(REPO / ".secrets.baseline")]
    assert subprocess.run([*args, str(leak)], cwd=REPO, capture_output=True).returncode != 0
    assert subprocess.run([*args, str(clean)], cwd=REPO, capture_output=True).returncode == 0
