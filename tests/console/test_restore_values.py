"""A restore's dry run and outcome in the console show, next to each step's new value,
what the entry holds where the plan starts (the left column), secrets as ``********``
and never in plaintext; the rows are the plan's own (the same steps and fields as the
API's dry run)."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.console.diffops import ops_rows
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, csrf_of, sign_in
from tests.infrastructure.http.conftest import SETUP, Headers

MOTD = Address("prod", "global_setting", "motd")
EXTRA = Address("prod", "global_setting", "extra")
OPENAI = Address("prod", "provider", "openai")
GROQ = Address("prod", "provider", "groq")
_TABLE = re.compile(r"<caption><span class=\"mono\">(.*?)</span>.*?</caption>(.*?)</table>", re.S)
_ROW = re.compile(
    r'<th scope="row" class="mono">(.*?)</th>\s*'
    r'<td class="mono kind-\w+">(.*?)</td>\s*<td class="mono kind-\w+">(.*?)</td>',
    re.S,
)
_NONE = re.compile(r'<span class="muted" title="none">—</span>')


def _cell(text: str) -> str | None:
    return None if _NONE.fullmatch(text) else unescape(text)


def tables(html: str) -> dict[str, list[tuple[str, str | None, str | None]]]:
    """Each entry's table of a plan: ``{area/key: [(field, left, right)]}``."""
    return {
        unescape(entry): [(unescape(p), _cell(a), _cell(b)) for p, a, b in _ROW.findall(body)]
        for entry, body in _TABLE.findall(html)
    }


def _provider(key: str) -> dict[str, object]:
    return {"provider_type": "openai", "keys": [{"name": "main", "api_key": key}]}


def _seed(store: ConfigStore) -> None:
    store.set(MOTD, {"value": "before"}, provenance=SETUP)
    store.set(OPENAI, _provider("sk-old-plaintext"), provenance=SETUP)
    store.create_snapshot("prod", "start", actor="ops")
    store.set(MOTD, {"value": "after"}, provenance=SETUP)
    store.set(EXTRA, {"value": "new"}, provenance=SETUP)
    store.set(OPENAI, _provider("sk-new-plaintext"), provenance=SETUP)
    store.set(GROQ, _provider("sk-groq-plaintext"), provenance=SETUP)


def _no_secret(html: str) -> None:
    assert "plaintext" not in html and "enc:" not in html


def test_the_dry_run_shows_each_entry_now_and_after(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    _seed(store)
    sign_in(client, bearer(admin))
    preview = client.get("/ui/envs/prod/restore?to_snapshot=start")
    assert preview.status_code == 200, preview.text
    _no_secret(preview.text)
    assert '<th scope="col">Now</th><th scope="col">After</th>' in preview.text
    shown = tables(preview.text)
    assert shown["global_setting/motd"] == [("value", '"after"', '"before"')]
    assert shown["global_setting/extra"] == [("value", '"new"', None)]
    assert shown["provider/openai"] == [("keys.0.api_key", '"********"', '"********"')]
    groq = shown["provider/groq"]
    assert ("keys.0.api_key", '"********"', None) in groq
    assert ("provider_type", '"openai"', None) in groq
    plan = client.post(
        "/v1/envs/prod/restore", json={"to_snapshot": "start", "dry_run": True}, headers=admin
    )
    assert plan.status_code == 200
    api = {c["area"] + "/" + c["key"]: c for c in plan.json()["changes"]}
    assert set(api) == set(shown)  # the same steps as the API's dry run
    assert [op["path"] for op in api["global_setting/motd"]["changes"]] == ["/value"]


def test_the_outcome_shows_what_each_entry_held_before(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    _seed(store)
    sign_in(client, bearer(admin))
    preview = client.get("/ui/envs/prod/restore?to_snapshot=start")
    position = re.search(r'name="expected_position" value="(\d+)"', preview.text)
    assert position
    fields = {"to_snapshot": "start", "to_time": "", "to_position": ""}
    done = client.post(
        "/ui/envs/prod/restore",
        data={"csrf": csrf_of(preview.text), "expected_position": position.group(1), **fields},
    )
    assert done.status_code == 200, done.text
    assert "Applied 4 changes" in done.text
    _no_secret(done.text)
    assert '<th scope="col">Before</th><th scope="col">After</th>' in done.text
    shown = tables(done.text)
    assert shown["global_setting/motd"] == [("value", '"after"', '"before"')]
    assert shown["provider/openai"] == [("keys.0.api_key", '"********"', '"********"')]
    assert store.get(MOTD).stored == {"value": "before"}


def test_operation_rows_take_the_left_side_from_the_value_they_apply_to() -> None:
    before = {"a": {"b": [10, {"c": "x"}]}, "gone": {"d": 1, "e": [True]}, "n": None}
    ops = [
        {"op": "replace", "path": "/a/b/1/c", "value": "y"},
        {"op": "replace", "path": "/n", "value": {"m": 2}},
        {"op": "remove", "path": "/gone"},
        {"op": "add", "path": "/new", "value": 3},
        {"op": "replace", "path": "/a/b/01", "value": 0},  # not an RFC 6901 index
    ]
    rows = [(r.path, r.left, r.right, r.kind) for r in ops_rows(ops, before)]
    assert rows == [
        ("a.b.1.c", '"x"', '"y"', "changed"),
        ("n.m", None, "2", "changed"),
        ("gone.d", "1", None, "removed"),
        ("gone.e.0", "true", None, "removed"),
        ("new", None, "3", "added"),
        ("a.b.01", None, "0", "changed"),
    ]
    assert all(r.left is None for r in ops_rows(ops))  # nothing known: nothing shown
