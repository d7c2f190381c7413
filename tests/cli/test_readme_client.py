"""The README's service example runs as written (in a subprocess, on the test schema)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.cli.readme_support import ROOT, readme_block, run_readme


def test_readme_service_example_runs(database_url: str, schema: str, tmp_path: Path) -> None:
    proc = run_readme(
        [sys.executable, "-c", readme_block("## Using it from a service", "python")],
        database_url=database_url,
        schema=schema,
        cwd=ROOT,
        timeout=60,
        CONDUIT_CONFIG_HOME=str(tmp_path / "home"),
        CONDUIT__ROUTER__DEFAULT_STRATEGY="leastcost",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "leastcost 3"  # the override, and the schema default
    assert lines[1] == "{}"
    assert re.fullmatch(r"\d+ router default .*max_retries=3.* -> .*max_retries=4.*", lines[2])
    assert (tmp_path / "home" / "last-known-good" / "production.json").exists()
