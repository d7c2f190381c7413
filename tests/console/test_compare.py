"""The compare page over HTTP: another environment against this one (the promote
preview, the same plan as the API's dry run), this environment at two points (position,
time, snapshot) and two versions of an entry; scopes leave areas out; secrets and
hostile text never show; bad parameters are a 4xx page, never a 500."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page, inline_code
from tests.infrastructure.http.conftest import ClientMaker, Headers, TokenMaker

WHO = Provenance(actor="alice", reason="setup", source="cli", correlation_id="t")
COMPARE = "/ui/envs/prod/compare"


def put(store: ConfigStore, env: str, area: str, key: str, value: dict[str, Any]) -> int:
    return store.set(Address(env, area, key), value, provenance=WHO).position


@pytest.fixture
def envs(store: ConfigStore) -> ConfigStore:
    """prod and staging differ in global_setting (motd changed, banner only in staging,
    legacy only in prod) and in router."""
    put(store, "prod", "global_setting", "motd", {"value": "prod text"})
    put(store, "prod", "global_setting", "legacy", {"value": "old"})
    put(store, "prod", "router", "default", {"max_retries": 1})
    put(store, "staging", "global_setting", "motd", {"value": "staging text"})
    put(store, "staging", "global_setting", "banner", {"value": "new"})
    put(store, "staging", "router", "default", {"max_retries": 4})
    return store


def entries_shown(html: str) -> list[tuple[str, str]]:
    """(area/key, action) of every entry of a comparison, in order."""
    found = re.findall(
        r'<summary>\s*<span class="mono">(.*?)</span>\s*'
        r'<span class="compare-action action-\w+">(\w+)</span>',
        html,
    )
    return [(unescape(entry), action) for entry, action in found]


def ok_page(client: TestClient, url: str, **params: str) -> str:
    answer = client.get(url, params=params)
    assert answer.status_code == 200, answer.text
    assert_console_page(answer)
    assert inline_code(answer.text) == []
    return answer.text


def test_tabs_and_empty_forms(client: TestClient, admin: Headers, envs: ConfigStore) -> None:
    sign_in(client, bearer(admin))
    for mode in ("", "envs", "points", "versions"):
        html = ok_page(client, COMPARE, mode=mode)
        assert 'href="?mode=envs"' in html and 'href="?mode=versions"' in html
        assert html.count('aria-current="page"') == 2  # the nav's Compare link and the tab
    assert '<option value="staging">' in ok_page(client, COMPARE)


def test_environment_against_environment_is_the_promote_dry_run(
    client: TestClient, admin: Headers, envs: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    html = ok_page(client, COMPARE, mode="envs", source="staging")
    shown = entries_shown(html)
    assert sorted(shown) == [
        ("global_setting/banner", "create"),
        ("global_setting/motd", "update"),
        ("router/default", "update"),
    ]
    assert "staging text" in html and "3 entries differ, in 2 areas" in html
    plan = client.post(
        "/v1/envs/prod/promote", json={"source": "staging", "dry_run": True}, headers=admin
    )
    assert plan.status_code == 200
    api = sorted((c["area"] + "/" + c["key"], c["action"]) for c in plan.json()["changes"])
    assert api == sorted(shown)
    assert envs.get(Address("prod", "global_setting", "motd")).version == 1  # nothing written
    pruned = entries_shown(ok_page(client, COMPARE, mode="envs", source="staging", prune="on"))
    assert ("global_setting/legacy", "delete") in pruned


def test_scopes_limit_as_in_the_api(
    make_client: ClientMaker, make_token: TokenMaker, envs: ConfigStore
) -> None:
    reader = make_client()
    scopes = ["prod:global_setting", "staging:global_setting"]
    sign_in(reader, bearer(make_token("reader", scopes=scopes)))
    for params in ({"mode": "envs", "source": "staging"}, {"mode": "points", "from": "0"}):
        answer = reader.get(COMPARE, params=params)  # whole environments: every area
        assert answer.status_code == 403
        assert "router" not in answer.text
    refused = reader.get(COMPARE, params={"mode": "versions", "area": "router", "key": "default"})
    assert refused.status_code == 403
    only_prod = make_client()
    sign_in(only_prod, bearer(make_token("reader", scopes=["prod"])))
    assert only_prod.get(COMPARE, params={"source": "staging"}).status_code == 403
    assert only_prod.get("/ui/envs/staging/compare").status_code == 403


def test_this_environment_at_two_points(
    client: TestClient, admin: Headers, envs: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    envs.create_snapshot("prod", "before-change", actor="alice")
    middle = put(envs, "prod", "global_setting", "motd", {"value": "changed later"})
    put(envs, "prod", "router", "default", {"max_retries": 9})
    by_snapshot = ok_page(client, COMPARE, mode="points", **{"from": "before-change"})
    assert sorted(entries_shown(by_snapshot)) == [
        ("global_setting/motd", "update"),
        ("router/default", "update"),
    ]
    by_position = ok_page(client, COMPARE, mode="points", **{"from": str(middle), "to": "now"})
    assert entries_shown(by_position) == [("router/default", "update")]
    when = envs.history(Address("prod", "global_setting", "motd"))[-1].recorded_at
    assert when is not None
    by_time = ok_page(client, COMPARE, mode="points", **{"from": when.isoformat()})
    assert entries_shown(by_time) == [("router/default", "update")]
    same = ok_page(client, COMPARE, mode="points", **{"from": "now", "to": "now"})
    assert "No differences" in same


def test_two_versions_of_an_entry(client: TestClient, admin: Headers, envs: ConfigStore) -> None:
    sign_in(client, bearer(admin))
    put(envs, "prod", "router", "default", {"max_retries": 2})
    put(envs, "prod", "router", "default", {"max_retries": 3})
    params = {"mode": "versions", "area": "router", "key": "default"}
    html = ok_page(client, COMPARE, **params, v1="1", v2="3")
    assert "version 1 against 3" in html
    assert re.search(r'diff-left">1</td>\s*<td class="mono diff-right">3</td>', html)
    assert "/ui/envs/prod/entries/router/default/history?from=1&amp;to=3" in html
    last = ok_page(client, COMPARE, **params)
    assert "version 2 against 3" in last


def test_secrets_and_hostile_text_never_show(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    hostile = "<script>alert(1)</script>"
    for env, plain in (("prod", "sk-prod-plaintext"), ("staging", "sk-staging-plaintext")):
        keys = [{"name": "main", "api_key": plain}]
        put(store, env, "provider", "openai", {"provider_type": "openai", "keys": keys})
        put(store, env, "global_setting", "motd", {"value": f"{hostile} {env}"})
    sign_in(client, bearer(admin))
    for params in (
        {"mode": "envs", "source": "staging"},
        {"mode": "points", "from": "0"},
        {"mode": "versions", "area": "provider", "key": "openai", "v1": "1", "v2": "1"},
    ):
        html = ok_page(client, COMPARE, **params)
        assert "plaintext" not in html and "enc:" not in html
        assert "<script>alert" not in html
    assert "&lt;script&gt;" in ok_page(client, COMPARE, mode="envs", source="staging")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"mode": "nope"}, 400),
        ({"mode": "envs", "source": "staging", "prune": "maybe"}, 400),
        ({"mode": "envs", "source": "prod"}, 422),  # the same environment
        ({"mode": "envs", "source": "nowhere"}, 404),
        ({"mode": "envs", "source": "bad name!"}, 400),
        ({"mode": "points", "from": "9" * 40}, 400),
        ({"mode": "points", "from": "2026-13-01"}, 400),
        ({"mode": "points", "from": "999999"}, 404),
        ({"mode": "points", "from": "no-such-snapshot"}, 404),
        ({"mode": "points", "from": "0", "to": "\u2460"}, 400),  # no snapshot name
        ({"mode": "versions", "area": "router", "key": "default", "v1": "0"}, 400),
        ({"mode": "versions", "area": "router", "key": "default", "v1": "-1"}, 400),
        ({"mode": "versions", "area": "router", "key": "default", "v2": "1" + "0" * 30}, 400),
        ({"mode": "versions", "area": "router", "key": "default", "v1": "\u0663"}, 400),
        ({"mode": "versions", "area": "router", "key": "default", "v2": "5"}, 400),
        ({"mode": "versions", "area": "router", "key": "nothing"}, 400),  # a singleton
        ({"mode": "versions", "area": "global_setting", "key": "nothing"}, 404),
        ({"mode": "versions", "area": "no_such_area", "key": "x"}, 404),
        ({"mode": "versions", "area": "router", "key": "a/b\u202e"}, 400),
    ],
)
def test_bad_parameters_are_a_page_never_a_500(
    client: TestClient, admin: Headers, envs: ConfigStore, params: dict[str, str], status: int
) -> None:
    sign_in(client, bearer(admin))
    answer = client.get(COMPARE, params=params)
    assert answer.status_code == status, answer.text
    assert_console_page(answer)
    assert inline_code(answer.text) == []
