"""scripts/backup.sh: the nightly dump is readable by its owner only."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_backups_are_written_0600_in_a_0700_folder(database_url, tmp_path):
    """Whatever the caller's umask, the dump (every member's phone and money) is 0600, its folder 0700."""
    if not database_url.startswith("postgres") or shutil.which("pg_dump") is None:
        pytest.skip("the backup script dumps PostgreSQL with pg_dump")
    backups = tmp_path / "backups"
    env = {**os.environ, "DATABASE_URL": database_url.split("?")[0], "BACKUP_DIR": str(backups)}
    result = subprocess.run(
        ["bash", "-c", f"umask 022 && {ROOT / 'scripts' / 'backup.sh'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    [dump] = list(backups.glob("mbolo-*.dump"))
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
