"""R11: `python -m db.migrate` says when this year or next has no confirmed schedule in the
province's calendar file (`confirmed_years`), and stays quiet once both are there. Run as the
operators run it, on an SQLite file, with the overrides file named by MOTCUA_CALENDAR_OVERRIDES.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from domain.localtime import local_date

REPO = Path(__file__).resolve().parents[2]


def migrate(tmp_path: Path, overrides: str) -> str:
    path = tmp_path / "overrides.toml"
    path.write_text(overrides, encoding="utf-8")
    env = {
        **os.environ,
        "MOTCUA_DATA_DIR": str(tmp_path),
        "MOTCUA_DATABASE_URL": "",
        "MOTCUA_CALENDAR_OVERRIDES": str(path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "db.migrate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def schedule(*years: int) -> str:
    """An overrides file confirming `years`, each with its New Year's Day."""
    lines = [f"confirmed_years = {list(years)}"]
    for year in years:
        lines += [
            "[[day_off]]",
            f"date = {year}-01-01",
            'name = "Tết Dương lịch"',
            'source = "Bộ luật Lao động 2019, Điều 112 khoản 1, điểm a"',
        ]
    return "\n".join(lines) + "\n"


def test_r11_migrate_warns_while_next_year_is_unconfirmed(tmp_path: Path) -> None:
    this_year = local_date(datetime.now(UTC)).year
    output = migrate(tmp_path, schedule(this_year))
    warnings = [line for line in output.splitlines() if "calendar_schedule_unconfirmed" in line]
    assert len(warnings) == 1, output
    assert f"[{this_year + 1}]" in warnings[0] and "chưa có lịch nghỉ chính thức" in warnings[0]
    assert "calendar_synced" in output  # a warning, not a failure


def test_r11_migrate_is_quiet_once_both_years_are_confirmed(tmp_path: Path) -> None:
    this_year = local_date(datetime.now(UTC)).year
    output = migrate(tmp_path, schedule(this_year, this_year + 1))
    assert "calendar_schedule_unconfirmed" not in output
    assert "calendar_synced" in output
