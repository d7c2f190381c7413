"""Running the README's examples as written, on the test database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import clean_env
from tests.conftest import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_block(heading: str, language: str = "bash") -> str:
    """The first ``language`` code block after the README's ``heading``."""
    text = README.read_text()
    section = text[text.index(heading) :]
    found = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert found is not None, f"no {language} block under {heading!r}"
    return found.group(1)


def run_readme(
    command: list[str], *, database_url: str, schema: str, cwd: Path, timeout: int, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with the test database's settings and this venv's scripts on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    variables = clean_env(
        CONDUIT_CONFIG_DATABASE_URL=database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
        **env,
    )
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=variables,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
