"""The README's CLI tour runs as written (on the test database)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.readme_support import readme_block, run_readme


def test_readme_tour_runs(database_url: str, schema: str, tmp_path: Path) -> None:
    proc = run_readme(
        ["bash", "-euo", "pipefail", "-c", readme_block("## A five-minute tour")],
        database_url=database_url,
        schema=schema,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "condt_" in proc.stdout
    assert "sk-example" in proc.stdout  # printed once, by --reveal
    assert proc.stdout.count("sk-example") == 1
