"""The README's CLI tour runs as written (on the test database)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import clean_env
from tests.conftest import TEST_SECRET_KEY

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_script() -> str:
    text = README.read_text()
    section = text[text.index("## A five-minute tour") :]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_readme_tour_runs(database_url: str, schema: str, tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = clean_env(
        CONDUIT_CONFIG_DATABASE_URL=database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
    )
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", tour_script()],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "condt_" in proc.stdout
    assert "sk-example" in proc.stdout  # printed once, by --reveal
    assert proc.stdout.count("sk-example") == 1
