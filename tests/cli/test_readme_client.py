"""The README's service example runs as written (in a subprocess, on the test schema)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import clean_env
from tests.cli.test_readme_tour import README
from tests.conftest import TEST_SECRET_KEY


def example() -> str:
    text = README.read_text()
    section = text[text.index("## Using it from a service") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_readme_service_example_runs(database_url: str, schema: str, tmp_path: Path) -> None:
    env = clean_env(
        CONDUIT_CONFIG_DATABASE_URL=database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
        CONDUIT_CONFIG_HOME=str(tmp_path / "home"),
        CONDUIT__ROUTER__DEFAULT_STRATEGY="leastcost",
    )
    proc = subprocess.run(
        [sys.executable, "-c", example()],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "leastcost 3"  # the override, and the schema default
    assert lines[1] == "{}"
    assert re.fullmatch(r"\d+ router default .*max_retries=3.* -> .*max_retries=4.*", lines[2])
    assert (tmp_path / "home" / "last-known-good" / "production.json").exists()
