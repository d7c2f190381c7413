"""The dashboard: entry counts per area, last changes, log head, projection lag judged as
``/readyz`` judges it, scheduled changes, the last ``verify`` (recorded by the API, the
CLI and the console's own button), the live-refreshed sections, scoping."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.console.dashboard_data import (
    Readiness,
    lag_indicator,
    lag_level,
    verify_indicator,
)
from infrastructure.store import ConfigStore
from infrastructure.store.verify_runs import VerifyRun, last_verify_run
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page
from tests.infrastructure.http.conftest import SETUP, ClientMaker, Headers, TokenMaker


def level(html: str, name: str) -> str:
    found = re.search(rf'data-indicator="{name}" data-level="([a-z ]+)"', html)
    assert found, f"no {name} indicator"
    return found.group(1)


def settled(client: TestClient) -> None:
    """Wait until ``/readyz`` answers 200: this server's read cache follows the log in a
    thread of its own (the projections are caught up by the test)."""
    deadline = time.monotonic() + 20
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").text
        time.sleep(0.05)


def seed(store: ConfigStore) -> None:
    for key in ("a", "b", "c"):
        store.set(Address("prod", "feature_flag", key), {"enabled": True}, provenance=SETUP)
    store.set(Address("prod", "router", "default"), {"max_retries": 2}, provenance=SETUP)
    store.delete(Address("prod", "feature_flag", "c"), provenance=SETUP)
    store.set(Address("staging", "router", "default"), {"max_retries": 1}, provenance=SETUP)


def test_counts_changes_head_and_live_sections(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    seed(store)
    sign_in(client, bearer(admin))
    page = client.get("/ui/")
    assert page.status_code == 200
    assert_console_page(page)
    html = page.text
    prod = html[html.index('data-environment="prod"') : html.index('data-environment="staging"')]
    assert '<td class="num" data-count="feature_flag">2</td>' in prod  # c is deleted
    assert '<td class="num" data-count="router">1</td>' in prod
    assert "feature_flag/c</span> v2\n        deleted by <strong>setup</strong>" in prod
    head = store.index.head()
    assert f"<strong data-head-position>{head}</strong>" in html
    assert 'data-live-env="*"' in html
    assert html.count("data-live-refresh") == 2
    assert 'hx-get="/ui/dashboard/status"' in html
    assert 'hx-get="/ui/dashboard/environments"' in html
    for part in ("/ui/dashboard/status", "/ui/dashboard/environments"):
        answer = client.get(part)
        assert answer.status_code == 200
        assert "<html" not in answer.text and "<h2" in answer.text
    assert level(html, "mirror") == "not set up"
    assert level(html, "instances") == "not set up"  # this app does not join a cluster


def test_projection_lag_follows_the_readyz_limit(
    make_client: ClientMaker, admin: Headers, store: ConfigStore
) -> None:
    strict = make_client(ready_max_lag=0)
    sign_in(strict, bearer(admin))
    store.fresh(["current", "audit", "checkpoints"])  # catch the projections up
    settled(strict)
    assert level(strict.get("/ui/dashboard/status").text, "projections") == "green"
    store.set(Address("prod", "router", "default"), {"max_retries": 2}, provenance=SETUP)
    behind = strict.get("/ui/dashboard/status").text
    ready = strict.get("/readyz")
    assert ready.status_code == 503
    assert level(behind, "projections") == "red"
    relaxed = make_client()
    sign_in(relaxed, bearer(admin))
    store.set(Address("prod", "router", "default"), {"max_retries": 3}, provenance=SETUP)
    assert level(relaxed.get("/ui/dashboard/status").text, "projections") == "amber"
    assert relaxed.get("/readyz").status_code == 200


def test_indicator_rules() -> None:
    def ready(lag: dict[str, int], ok: bool = True) -> Readiness:
        return Readiness(ok, "" if ok else "lagging", 10, lag, 5)

    assert lag_indicator(ready({"current": 0, "audit": 0})).label == "green"
    assert lag_indicator(ready({"current": 3, "audit": 0})).label == "amber"
    assert lag_indicator(ready({"current": 6}, ok=False)).label == "red"
    assert [lag_level(n, 5) for n in (0, 1, 5, 6)] == ["ok", "warn", "warn", "bad"]
    now = datetime.now(UTC)
    assert verify_indicator(None).label == "amber"
    clean = VerifyRun(now, "a", "cli", None, 1, 1, 0, 0, None)
    broken = VerifyRun(now, "a", "cli", None, 1, 1, 2, 1, None)
    assert verify_indicator(clean).label == "green"
    assert verify_indicator(broken).label == "red"


def test_verify_runs_are_recorded_and_shown(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    seed(store)
    sign_in(client, bearer(admin))
    assert level(client.get("/ui/").text, "verify") == "amber"
    assert last_verify_run(store) is None
    done = client.post("/v1/verify", json={"all_envs": True}, headers=admin)
    assert done.status_code == 200 and done.json()["problems"] == []
    run = last_verify_run(store)
    assert run is not None
    assert (run.actor, run.source, run.problems, run.environment) == ("root-admin", "http", 0, None)
    html = client.get("/ui/").text
    assert level(html, "verify") == "green"
    assert "By <strong>root-admin</strong> via http" in html


def test_an_admin_runs_verify_from_the_dashboard(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    seed(store)
    csrf = sign_in(client, bearer(admin))
    assert client.post("/ui/dashboard/verify").status_code == 403  # no CSRF token
    assert last_verify_run(store) is None
    answer = client.post("/ui/dashboard/verify", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    run = last_verify_run(store)
    assert run is not None and (run.actor, run.source) == ("root-admin", "console")
    assert run.entries >= 4


def test_scheduled_changes_are_counted(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    seed(store)
    sign_in(client, bearer(admin))
    due = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"area": "router", "key": "default", "operation": "set", "value": {"max_retries": 5}}
    made = client.post("/v1/envs/prod/scheduled", json={**body, "due_at": due}, headers=admin)
    assert made.status_code == 201, made.text
    html = client.get("/ui/dashboard/status").text
    assert "1 pending, 0 past due" in html
    assert level(html, "scheduled") == "green"


def test_a_scoped_reader_sees_only_its_areas(
    client: TestClient, make_token: TokenMaker, store: ConfigStore
) -> None:
    seed(store)
    reader = make_token("reader", scopes=["prod:router"])
    csrf = sign_in(client, bearer(reader))
    html = client.get("/ui/").text
    assert 'data-count="router">1<' in html
    assert 'data-count="feature_flag"' not in html
    assert 'data-environment="staging"' not in html
    assert "feature_flag/" not in html
    assert "Run verify now" not in html
    refused = client.post("/ui/dashboard/verify", data={"csrf": csrf})
    assert refused.status_code == 403
    assert last_verify_run(store) is None
