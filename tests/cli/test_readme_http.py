"""The README's HTTP walk-through runs as written against a real ``serve``."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.readme_support import readme_block, run_readme
from tests.infrastructure.http.server_support import free_port


def test_readme_http_walkthrough_runs(database_url: str, schema: str, tmp_path: Path) -> None:
    script = readme_block("## HTTP API").replace("8080", str(free_port()))
    proc = run_readme(
        ["bash", "-euo", "pipefail", "-c", script],
        database_url=database_url,
        schema=schema,
        cwd=tmp_path,
        timeout=120,
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
