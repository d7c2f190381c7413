"""The README's HTTP walk-through runs as written against a real ``serve``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import clean_env
from tests.cli.test_readme_tour import README
from tests.conftest import TEST_SECRET_KEY


def walkthrough(port: int) -> str:
    text = README.read_text()
    section = text[text.index("## HTTP API") :]
    script = re.search(r"```bash\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return script.replace("8080", str(port))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_readme_http_walkthrough_runs(database_url: str, schema: str, tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = clean_env(
        CONDUIT_CONFIG_DATABASE_URL=database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
    )
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough(free_port())],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = out.splitlines()
    assert lines[0].startswith('{"environment":"prod"') and lines[0].endswith("[201]")
    assert re.search(r'(?im)^etag: "1"', out)
    statuses = re.findall(r"\[(\d{3})\]$", out, re.M)
    assert statuses == ["201", "200", "412", "200", "200", "200", "200", "200", "200", "403"]
    assert '"version":3,' in out  # the rollback appended version 3
    assert out.count("event: change") == 3  # prod's three changes, from the stream
