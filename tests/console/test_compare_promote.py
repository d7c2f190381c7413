"""Promote on the compare page: a writer of the target applies the plan the page showed,
through the store's promote (as the API's), CSRF-protected; readers see no button and
are refused (403); a plan that changed since it was shown (the target or the source
moved) is refused with the plan now (409), nothing written."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient

from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.infrastructure.http.conftest import ClientMaker, Headers, TokenMaker

WHO = Provenance(actor="alice", reason="setup", source="cli", correlation_id="t")
OTHER = Provenance(actor="bob", reason="meanwhile", source="api", correlation_id="u")
COMPARE = "/ui/envs/prod/compare"
PROMOTE = "/ui/envs/prod/compare/promote"
MOTD = Address("prod", "global_setting", "motd")
HOSTILE = '<script>alert("x")</script>'


def _put(store: ConfigStore, env: str, area: str, key: str, value: dict[str, Any]) -> None:
    store.set(Address(env, area, key), value, provenance=WHO)


def _seed(store: ConfigStore) -> None:
    _put(store, "prod", "global_setting", "motd", {"value": "prod text"})
    _put(store, "prod", "global_setting", "legacy", {"value": "old"})
    _put(store, "prod", "router", "default", {"max_retries": 1})
    _put(store, "staging", "global_setting", "motd", {"value": "staging text"})
    _put(store, "staging", "global_setting", "banner", {"value": "new"})
    _put(store, "staging", "router", "default", {"max_retries": 4})


def _promote_form(html: str) -> dict[str, str]:
    """The hidden fields of the page's promote form."""
    found = re.search(r'<form method="post" action="/ui/envs/prod/compare/promote"(.*?)</form>',
                      html, re.S)  # fmt: skip
    assert found, "no promote form"
    return {
        name: unescape(value)
        for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', found.group(1))
    }


def _writer(make_client: ClientMaker, make_token: TokenMaker, **kw: Any) -> TestClient:
    client = make_client()
    sign_in(client, bearer(make_token("writer", name="promoter", **kw)))
    return client


def test_a_writer_promotes_the_plan_shown(
    make_client: ClientMaker, make_token: TokenMaker, store: ConfigStore, admin: Headers
) -> None:
    _seed(store)
    writer = _writer(make_client, make_token)
    shown = writer.get(COMPARE, params={"mode": "envs", "source": "staging", "prune": "on"})
    assert shown.status_code == 200, shown.text
    form = _promote_form(shown.text)
    assert form["source"] == "staging" and form["prune"] == "on"
    assert form["csrf"] and form["plan"] and form["expected_position"].isdigit()
    done = writer.post(PROMOTE, data=form | {"reason": "release " + HOSTILE})
    assert done.status_code == 200, done.text
    assert 'id="promote-done"' in done.text and "4 changes applied atomically" in done.text
    assert "<script>alert" not in done.text
    assert _promote_form_absent(done.text)
    assert store.get(MOTD).stored == {"value": "staging text"}
    assert store.get(Address("prod", "global_setting", "banner")).stored == {"value": "new"}
    assert store.get(Address("prod", "global_setting", "legacy"), include_deleted=True).deleted
    last = store.history(MOTD)[-1]
    assert (last.actor, last.source, last.reason) == ("promoter", "console", "release " + HOSTILE)
    again = writer.post(
        "/v1/envs/prod/promote", json={"source": "staging", "prune": True, "dry_run": True},
        headers=admin,
    )  # fmt: skip
    assert again.json()["changes"] == []  # the same plan as the API's: nothing left to do


def _promote_form_absent(html: str) -> bool:
    return "/compare/promote" not in html


def test_readers_see_no_button_and_are_refused(
    make_client: ClientMaker, make_token: TokenMaker, store: ConfigStore
) -> None:
    _seed(store)
    writer = _writer(make_client, make_token)
    form = _promote_form(writer.get(COMPARE, params={"source": "staging"}).text)
    for role, scopes in (
        ("reader", None),
        ("writer", ["prod", "staging:global_setting"]),  # reads only part of the source
        ("writer", ["prod:global_setting", "staging"]),  # writes only part of the target
        ("writer", ["staging"]),
    ):
        client = make_client()
        csrf = sign_in(client, bearer(make_token(role, scopes=scopes)))
        page = client.get(COMPARE, params={"source": "staging"})
        assert page.status_code in (200, 403)
        assert _promote_form_absent(page.text)
        refused = client.post(PROMOTE, data=form | {"csrf": csrf})
        assert refused.status_code == 403, (role, scopes, refused.text)
        assert "staging text" not in refused.text
    assert store.export("prod").entries["global_setting"].keys() == {"motd", "legacy"}
    no_csrf = writer.post(PROMOTE, data=form | {"csrf": ""})
    assert no_csrf.status_code == 403
    assert store.get(MOTD).stored == {"value": "prod text"}


def test_a_stale_plan_is_refused_and_the_plan_now_shown(
    make_client: ClientMaker, make_token: TokenMaker, store: ConfigStore
) -> None:
    _seed(store)
    writer = _writer(make_client, make_token)
    form = _promote_form(writer.get(COMPARE, params={"source": "staging"}).text)
    store.set(MOTD, {"value": "changed meanwhile"}, provenance=OTHER)  # the target moved
    refused = writer.post(PROMOTE, data=form | {"reason": "kept reason"})
    assert refused.status_code == 409, refused.text
    assert 'id="promote-moved"' in refused.text and "kept reason" in refused.text
    assert store.get(MOTD).stored == {"value": "changed meanwhile"}  # nothing written
    fresh = _promote_form(refused.text)
    assert fresh["plan"] != form["plan"] and fresh["expected_position"] != form["expected_position"]
    _put(store, "staging", "router", "default", {"max_retries": 7})  # now the source moves
    moved = writer.post(PROMOTE, data=fresh)
    assert moved.status_code == 409 and 'id="promote-moved"' in moved.text
    assert store.get(Address("prod", "router", "default")).stored == {"max_retries": 1}
    done = writer.post(PROMOTE, data=_promote_form(moved.text))
    assert done.status_code == 200, done.text
    assert store.get(MOTD).stored == {"value": "staging text"}
    assert store.get(Address("prod", "router", "default")).stored == {"max_retries": 7}


def test_an_unchanged_target_with_other_writes_elsewhere_still_promotes(
    make_client: ClientMaker, make_token: TokenMaker, store: ConfigStore
) -> None:
    _seed(store)
    writer = _writer(make_client, make_token)
    form = _promote_form(writer.get(COMPARE, params={"source": "staging"}).text)
    _put(store, "elsewhere", "global_setting", "motd", {"value": "x"})  # the log moves on
    done = writer.post(PROMOTE, data=form)
    assert done.status_code == 200, done.text
    assert store.get(MOTD).stored == {"value": "staging text"}


def test_a_target_that_moved_is_refused_even_when_the_plan_is_the_same(
    make_client: ClientMaker, make_token: TokenMaker, store: ConfigStore
) -> None:
    _seed(store)
    writer = _writer(make_client, make_token)
    form = _promote_form(writer.get(COMPARE, params={"source": "staging"}).text)
    legacy = Address("prod", "global_setting", "legacy")  # not in staging: not in the plan
    store.set(legacy, {"value": "touched"}, provenance=OTHER)
    refused = writer.post(PROMOTE, data=form)
    assert refused.status_code == 409, refused.text  # the store's expected_position check
    assert _promote_form(refused.text)["plan"] == form["plan"]
    assert store.get(MOTD).stored == {"value": "prod text"}


def test_a_source_whose_secret_changed_is_refused_though_the_plan_looks_the_same(
    make_client: ClientMaker, make_token: TokenMaker, store: ConfigStore
) -> None:
    """The plan shows secrets as ``********``, so only the source's position tells that a
    secret changed after the plan was shown."""
    _seed(store)
    key = {"provider_type": "openai", "keys": [{"name": "main", "api_key": "sk-shown-1"}]}
    _put(store, "staging", "provider", "openai", key)
    writer = _writer(make_client, make_token)
    form = _promote_form(writer.get(COMPARE, params={"source": "staging"}).text)
    key["keys"][0]["api_key"] = "sk-never-shown-2"
    _put(store, "staging", "provider", "openai", key)  # the source moves, only its secret
    refused = writer.post(PROMOTE, data=form)
    assert refused.status_code == 409, refused.text
    assert _promote_form(refused.text)["plan"] == form["plan"]  # the same plan, as shown
    assert [v.key for v in store.list_entries("prod", "provider")] == []
