"""``/ui/audit`` and ``/ui/audit.csv``: the CLI's filters, paging by cursor, scoping as
``GET /v1/audit``, redacted changes, CSV safe against formula injection, hostile text
inert."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from domain.address import Address
from domain.entry import Provenance
from infrastructure.console.audit_data import cell
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

SECRET = "sk-audit-Secret-987"
HOSTILE = '<script>alert("x")</script>=HYPERLINK("http://evil")'


def by(actor: str, *, source: str = "cli", reason: str | None = None) -> Provenance:
    return Provenance(actor=actor, source=source, correlation_id="t", reason=reason)


@pytest.fixture
def trail(store: ConfigStore) -> ConfigStore:
    """prod: a router by alice (cli), a provider with a secret by bob (http), the router
    changed by a hostile actor with a hostile reason, a flag created then deleted;
    staging: a router."""
    store.set(Address("prod", "router", "default"), {"max_retries": 1}, provenance=by("alice"))
    keys = [{"name": "main", "api_key": SECRET}]
    store.set(
        Address("prod", "provider", "openai"),
        {"provider_type": "openai", "keys": keys},
        provenance=by("bob", source="http"),
    )
    store.set(
        Address("prod", "router", "default"),
        {"max_retries": 2},
        provenance=by("=cmd|' /C calc'!A0", reason=HOSTILE),
    )
    store.set(Address("prod", "feature_flag", "f"), {"enabled": True}, provenance=SETUP)
    store.delete(Address("prod", "feature_flag", "f"), provenance=SETUP)
    store.set(Address("staging", "router", "default"), {"max_retries": 9}, provenance=SETUP)
    return store


def positions(html: str) -> list[int]:
    return [int(p) for p in re.findall(r'<td class="num">(\d+)</td>', html)]


def test_filters(client: TestClient, admin: Headers, trail: ConfigStore) -> None:
    sign_in(client, bearer(admin))
    everything = client.get("/ui/audit?env=prod")
    assert everything.status_code == 200
    assert_console_page(everything)
    assert len(positions(everything.text)) == 5
    checks = {
        "area=router": 2,
        "area=router&key=default&actor=alice": 1,
        "actor=bob": 1,
        "source=http": 1,
        "event=deleted": 1,
        "event=created&area=feature_flag": 1,
        "actor=nobody": 0,
        "until=2000-01-01": 0,
        "since=2000-01-01T00:00:00Z": 5,
    }
    for query, count in checks.items():
        answer = client.get(f"/ui/audit?env=prod&{query}")
        assert answer.status_code == 200, query
        assert len(positions(answer.text)) == count, query
    staging = client.get("/ui/audit?env=staging")
    assert len(positions(staging.text)) == 1
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        len(positions(client.get("/ui/audit", params={"env": "prod", "since": future}).text)) == 0
    )


def test_paging_follows_the_cursor(client: TestClient, admin: Headers, trail: ConfigStore) -> None:
    sign_in(client, bearer(admin))
    first = client.get("/ui/audit?env=prod&limit=2")
    shown = positions(first.text)
    assert len(shown) == 2 and shown == sorted(shown, reverse=True)
    seen = list(shown)
    html = first.text
    while (older := re.search(r'href="([^"]+)" rel="next"', html)) is not None:
        html = client.get(older.group(1).replace("&amp;", "&")).text
        seen += positions(html)
    assert len(seen) == 5 and seen == sorted(set(seen), reverse=True)


def test_changes_are_redacted_and_hostile_text_inert(
    client: TestClient, admin: Headers, trail: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    html = client.get("/ui/audit?env=prod").text
    assert SECRET not in html
    assert "keys.0.api_key" in html or "keys" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "max_retries" in html


def test_a_bad_time_is_shown_beside_the_form(
    client: TestClient, admin: Headers, trail: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    answer = client.get("/ui/audit?env=prod&since=yesterday")
    assert answer.status_code == 400
    assert 'id="audit-since"' in answer.text and 'aria-invalid="true"' in answer.text
    assert_console_page(answer)
    assert client.get("/ui/audit.csv?env=prod&since=yesterday").status_code == 400


def test_csv(client: TestClient, admin: Headers, trail: ConfigStore) -> None:
    sign_in(client, bearer(admin))
    answer = client.get("/ui/audit.csv?env=prod")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:8] == [
        "position",
        "recorded_at",
        "environment",
        "area",
        "key",
        "version",
        "event",
        "actor",
    ]
    assert len(rows) == 6
    assert SECRET not in answer.text
    hostile = next(r for r in rows[1:] if r[3] == "router" and r[5] == "2")
    assert hostile[7] == "'=cmd|' /C calc'!A0"  # the actor, defused
    assert hostile[9] == HOSTILE  # starts with "<": nothing to defuse, kept whole
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@")), value
    filtered = client.get("/ui/audit.csv?env=prod&actor=bob")
    assert len(list(csv.reader(io.StringIO(filtered.text)))) == 2


def test_cells_that_would_run_as_formulas() -> None:
    assert cell("=1+1") == "'=1+1"
    assert cell("+1") == "'+1"
    assert cell("-1") == "'-1"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("\t=1") == "'\t=1"
    assert cell("plain") == "plain"
    assert cell(None) == ""
    assert cell(5) == "5"


def test_scoped_like_the_api(
    client: TestClient, make_token: TokenMaker, trail: ConfigStore
) -> None:
    reader = make_token("reader", scopes=["prod:router"])
    api = client.get("/v1/audit?env=prod", headers=reader).json()["items"]
    sign_in(client, bearer(reader))
    page = client.get("/ui/audit?env=prod")
    assert page.status_code == 200
    assert positions(page.text) == [item["position"] for item in api]
    assert {item["area"] for item in api} == {"router"}
    rows = list(csv.reader(io.StringIO(client.get("/ui/audit.csv?env=prod").text)))
    assert [int(r[0]) for r in rows[1:]] == [item["position"] for item in api]
    for refused in (
        "/ui/audit?env=staging",
        "/ui/audit?env=prod&area=provider",
        "/ui/audit?env=_system",
        "/ui/audit.csv?env=staging",
        "/ui/audit.csv?env=_system",
    ):
        answer = client.get(refused)
        assert answer.status_code == 403, refused
        assert SECRET not in answer.text


def test_the_system_environment_is_for_admins(
    client: TestClient, admin: Headers, trail: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    answer = client.get("/ui/audit?env=_system")
    assert answer.status_code == 200
    assert "access_token/" in answer.text
    assert '<option value="_system"' in client.get("/ui/audit?env=prod").text
