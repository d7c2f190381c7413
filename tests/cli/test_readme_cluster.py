"""The README's two-instance walk-through runs as written: two servers on one schema,
the cluster commands, a write reaching the Redis mirror, a scheduled change."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import redis

from tests.cli.readme_support import readme_block, run_readme
from tests.infrastructure.cluster.redis_support import redis_url  # noqa: F401 (fixture)
from tests.infrastructure.http.server_support import free_port


def test_readme_two_instances_and_redis(
    database_url: str,
    schema: str,
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    prefix = f"cc-readme-{uuid.uuid4().hex[:8]}"
    script = readme_block("## Running several instances")
    lines = [line for line in script.splitlines() if not line.startswith("export ")]
    script = "\n".join(lines).replace("conduit-config:default", f"{prefix}:default")
    script = script.replace("8080", str(free_port())).replace("8081", str(free_port()))
    proc = run_readme(
        ["bash", "-euo", "pipefail", "-c", script],
        database_url=database_url,
        schema=schema,
        cwd=tmp_path,
        timeout=180,
        CONDUIT_CONFIG_REDIS_URL=redis_url,
        CONDUIT_CONFIG_REDIS_PREFIX=prefix,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr + (tmp_path / "instance-a.log").read_text()
    table = out[: out.index("CONSISTENT")]
    assert table.count(" serve ") == 2
    assert table.count("leader") == 1 and table.count("follower") == 1
    assert "sch-" in out and "feature_flag/launch" in out
    client = redis.Redis.from_url(redis_url)
    try:
        mirrored = json.loads(client.get(f"{prefix}:default:router:default") or b"{}")
        assert mirrored["value"]["max_retries"] == 5
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
    finally:
        client.close()
