"""Found by attacking the finished console: a scoped user learns nothing of other
environments from the dashboard, a restore's forged expected position is refused, and a
database that dropped its connections does not turn the next pages into 503s."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from fastapi.testclient import TestClient

from domain.address import Address
from domain.entry import Provenance
from domain.parsing import MAX_INT64
from infrastructure.store import ConfigStore
from tests.console.conftest import Console, bearer, sign_in
from tests.infrastructure.http.conftest import Headers, TokenMaker

FLAG = Address("prod", "feature_flag", "f1")
HIDDEN = Address("hiddenenv", "feature_flag", "topsecretkey")
WHO = Provenance(actor="setup", reason="setup", source="cli", correlation_id="attack-15")


def test_the_last_verify_card_names_no_environment_outside_the_scope(
    client: TestClient, admin: Headers, make_token: TokenMaker, store: ConfigStore
) -> None:
    """Dashboard, "Last verify" and "Instances": who verified which environment with
    what counts, and the leader's id, are for admins (the API's verify and cluster
    endpoints are admin only); others get the light."""
    store.set(FLAG, {}, provenance=WHO)
    store.set(HIDDEN, {}, provenance=WHO)
    verified = client.post("/v1/verify", json={"environment": "hiddenenv"}, headers=admin)
    assert verified.status_code == 200, verified.text
    reader = make_token("reader", scopes=["prod:feature_flag"], name="scoped-reader")
    sign_in(client, bearer(reader))
    # The token may not read hiddenenv at all...
    assert client.get("/ui/envs/hiddenenv/areas").status_code == 403
    # ...yet the dashboard names it, with the admin who verified it.
    for url in ("/ui/", "/ui/dashboard/status"):
        page = client.get(url)
        assert page.status_code == 200
        assert "hiddenenv" not in page.text, url
        assert "root-admin" not in page.text, url
        assert "no problems found" in page.text
        assert "(leader)" not in page.text


def test_a_restore_posted_with_a_position_past_the_log_head_is_refused(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    """Restore, apply: ``expected_position`` comes from the form; a position past the log
    head (a forged or mangled form) would pass "changed after it" and overwrite a change
    made after the dry run."""
    store.set(FLAG, {}, provenance=WHO)
    store.create_snapshot("prod", "before", actor="setup", reason=None)
    store.set(FLAG, {"enabled": True}, provenance=WHO)
    csrf = sign_in(client, bearer(admin))
    preview = client.get("/ui/envs/prod/restore", params={"to_snapshot": "before"})
    assert preview.status_code == 200
    # Someone changes the entry after the dry run.
    theirs = store.set(FLAG, {"enabled": True, "description": "theirs"}, provenance=WHO)
    answer = client.post(
        "/ui/envs/prod/restore",
        data={
            "csrf": csrf,
            "to_snapshot": "before",
            "expected_position": str(MAX_INT64),
            "reason": "forged position",
        },
    )
    assert answer.status_code in (400, 409), answer.status_code
    assert store.get(FLAG).version == theirs.version
    assert store.get(FLAG).stored == {"enabled": True, "description": "theirs"}


def _drop_connections(database_url: str) -> int:
    """Terminate every other backend of this test run's own database (nobody else's)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_a_page_right_after_the_database_dropped_its_connections_answers(
    console: Console, database_url: str
) -> None:
    """Fault: after the database drops the server's connections (a restart, a failover),
    the pool's dead connections made page after page answer 503 until they were used up;
    the console's reads now run again on a fresh connection."""
    with console.api() as api:
        assert api.put("/v1/envs/prod/entries/feature_flag/f1", json={}).status_code == 201
    with httpx.Client(base_url=console.url, timeout=20, trust_env=False) as http:
        sign_in(http, console.admin_token)
        statuses: dict[str, Any] = {}
        for url in ("/ui/audit?env=prod", "/ui/envs/prod/areas/feature_flag", "/ui/"):
            assert _drop_connections(database_url) > 0
            answer = http.get(url, follow_redirects=False)
            statuses[url] = (answer.status_code, "Traceback" in answer.text)
        assert statuses == dict.fromkeys(statuses, (200, False)), statuses
