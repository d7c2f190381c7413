"""Snapshots and restore in the console: list, create, delete with confirmation; the
restore's dry run, then its apply conditional on the dry run's position; roles and
scopes as the API's; hostile text inert; bad points a 400 page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, csrf_of, sign_in
from tests.console.html_checks import assert_console_page
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

HOSTILE = '<script>alert("x")</script> \u202e & "q"'
MOTD = Address("prod", "global_setting", "motd")
EXTRA = Address("prod", "global_setting", "extra")


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def _seed(store: ConfigStore) -> None:
    store.set(MOTD, {"value": "before"}, provenance=SETUP)
    store.create_snapshot("prod", "before-change", actor="ops", reason=HOSTILE)
    store.set(MOTD, {"value": "after"}, provenance=SETUP)
    store.set(EXTRA, {"value": "new"}, provenance=SETUP)


def test_list_create_and_delete(client: TestClient, store: ConfigStore, admin: Headers) -> None:
    _seed(store)
    csrf = sign_in(client, bearer(admin))
    listed = client.get("/ui/envs/prod/snapshots")
    assert listed.status_code == 200
    assert_console_page(listed)
    assert (
        ">before-change<" in listed.text
        and "<strong>" not in listed.text.split("before-change")[1][:5]
    )
    assert "<script>alert" not in listed.text and "&lt;script&gt;" in listed.text
    made = client.post(
        "/ui/envs/prod/snapshots",
        data={"csrf": csrf, "name": "nightly.1", "reason": HOSTILE},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/ui/envs/prod/snapshots?created=nightly.1"
    info = store.snapshot("prod", "nightly.1")
    assert (info.created_by, info.reason, info.entry_count) == ("root-admin", HOSTILE, 2)
    again = client.post(
        "/ui/envs/prod/snapshots", data={"csrf": csrf, "name": "nightly.1", "reason": ""}
    )
    assert again.status_code == 409 and "already exists" in again.text
    assert_console_page(again)
    bad = client.post("/ui/envs/prod/snapshots", data={"csrf": csrf, "name": "<script>"})
    assert bad.status_code == 422 and "<script>" not in bad.text
    assert 'value="&lt;script&gt;"' in bad.text
    confirm = client.get("/ui/envs/prod/snapshots/nightly.1/delete")
    assert confirm.status_code == 200 and "Delete snapshot nightly.1" in confirm.text
    gone = client.post(
        "/ui/envs/prod/snapshots/nightly.1/delete",
        data={"csrf": csrf_of(confirm.text)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert [i.name for i in store.snapshots("prod")] == ["before-change"]
    missing = client.post("/ui/envs/prod/snapshots/nightly.1/delete", data={"csrf": csrf})
    assert missing.status_code == 404
    assert client.get("/ui/envs/prod/snapshots/nope/delete").status_code == 404


def test_post_without_csrf_does_nothing(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    _seed(store)
    sign_in(client, bearer(admin))
    assert client.post("/ui/envs/prod/snapshots", data={"name": "x1"}).status_code == 403
    assert client.post("/ui/envs/prod/snapshots/before-change/delete").status_code == 403
    head = store.index.head()
    refused = client.post(
        "/ui/envs/prod/restore",
        data={"to_snapshot": "before-change", "expected_position": str(head)},
    )
    assert refused.status_code == 403
    assert [i.name for i in store.snapshots("prod")] == ["before-change"]
    assert store.index.head() == head


def test_restore_dry_run_then_apply(client: TestClient, store: ConfigStore, admin: Headers) -> None:
    _seed(store)
    sign_in(client, bearer(admin))
    head = store.index.head()
    preview = client.get("/ui/envs/prod/restore?to_snapshot=before-change")
    assert preview.status_code == 200, preview.text
    assert_console_page(preview)
    assert store.index.head() == head  # the dry run writes nothing
    html = preview.text
    assert "2 entries would change" in html and "from version 2 to the value of version 1" in html
    assert ">delete<" in html and ">rollback<" in html and "&#34;before&#34;" in html
    assert _hidden(html, "expected_position") == str(head)
    applied = client.post(
        "/ui/envs/prod/restore",
        data={
            "csrf": csrf_of(html),
            "to_snapshot": "before-change",
            "to_time": "",
            "to_position": "",
            "expected_position": _hidden(html, "expected_position"),
            "reason": "back " + HOSTILE,
        },
    )
    assert applied.status_code == 200, applied.text
    assert "Restored" in applied.text and "<script>alert" not in applied.text
    assert store.get(MOTD).stored == {"value": "before"}
    assert store.get(EXTRA, include_deleted=True).deleted
    history = store.history(MOTD)
    assert (history[-1].actor, history[-1].source) == ("root-admin", "console")
    assert history[-1].reason == "back " + HOSTILE


def test_a_moved_environment_is_refused(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    _seed(store)
    sign_in(client, bearer(admin))
    preview = client.get("/ui/envs/prod/restore?to_snapshot=before-change")
    expected = _hidden(preview.text, "expected_position")
    store.set(MOTD, {"value": "meanwhile"}, provenance=SETUP)
    head = store.index.head()
    refused = client.post(
        "/ui/envs/prod/restore",
        data={
            "csrf": csrf_of(preview.text),
            "to_snapshot": "before-change",
            "expected_position": expected,
            "reason": "kept",
        },
    )
    assert refused.status_code == 409, refused.text
    assert_console_page(refused)
    assert f"changed after position {expected}" in refused.text
    assert "nothing was applied" in refused.text
    assert store.index.head() == head and store.get(MOTD).stored == {"value": "meanwhile"}
    assert _hidden(refused.text, "expected_position") == str(head)  # the new dry run
    assert "global_setting/motd</span>:" in refused.text and "from version 3" in refused.text
    assert ">kept</textarea>" in refused.text


def test_restore_to_a_position_or_a_time(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    store.set(MOTD, {"value": "one"}, provenance=SETUP)
    first = store.index.head()
    store.set(MOTD, {"value": "two"}, provenance=SETUP)
    sign_in(client, bearer(admin))
    by_position = client.get(f"/ui/envs/prod/restore?to_position={first}")
    assert by_position.status_code == 200 and "&#34;one&#34;" in by_position.text
    assert f"to position {first}" in by_position.text
    by_time = client.get("/ui/envs/prod/restore", params={"to_time": "2000-01-01T00:00:00Z"})
    assert by_time.status_code in (200, 404), by_time.text
    assert_console_page(by_time)
    now = client.get("/ui/envs/prod/restore", params={"to_time": "2999-01-01T00:00:00Z"})
    assert now.status_code == 200 and "nothing would change" in now.text
    assert "Apply restore" not in now.text


def test_bad_points_are_a_400_page(client: TestClient, store: ConfigStore, admin: Headers) -> None:
    _seed(store)
    csrf = sign_in(client, bearer(admin))
    for query in (
        "",
        "to_snapshot=before-change&to_position=1",
        "to_position=-1",
        "to_position=1e3",
        "to_position=99999999999999999999",
        "to_time=yesterday",
        "to_time=%3Cscript%3E",
        "to_snapshot=" + "a" * 201,
    ):
        answer = client.get(f"/ui/envs/prod/restore?{query}")
        assert answer.status_code == 400, (query, answer.text)
        assert_console_page(answer)
        assert "<script>" not in answer.text
    assert client.get("/ui/envs/prod/restore?to_snapshot=nope").status_code == 404
    assert client.get("/ui/envs/bad%20name/snapshots").status_code == 400
    bad = client.post(
        "/ui/envs/prod/restore",
        data={"csrf": csrf, "to_snapshot": "before-change", "expected_position": "x"},
    )
    assert bad.status_code == 400 and "expected position" in bad.text
    long = client.post(
        "/ui/envs/prod/restore",
        data={
            "csrf": csrf,
            "to_snapshot": "before-change",
            "expected_position": "1",
            "reason": "r" * 2001,
        },
    )
    assert long.status_code == 400


def test_reader_sees_no_controls_and_is_refused(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    _seed(store)
    csrf = sign_in(client, bearer(make_token("reader")))
    listed = client.get("/ui/envs/prod/snapshots")
    assert listed.status_code == 200 and ">before-change<" in listed.text
    for control in ("Create snapshot", "Preview restore", "Delete…", "Restore…"):
        assert control not in listed.text
    head = store.index.head()
    for method, url, data in (
        ("POST", "/ui/envs/prod/snapshots", {"csrf": csrf, "name": "r1"}),
        ("GET", "/ui/envs/prod/snapshots/before-change/delete", None),
        ("POST", "/ui/envs/prod/snapshots/before-change/delete", {"csrf": csrf}),
        ("GET", "/ui/envs/prod/restore?to_snapshot=before-change", None),
        (
            "POST",
            "/ui/envs/prod/restore",
            {"csrf": csrf, "to_snapshot": "before-change", "expected_position": str(head)},
        ),
    ):
        answer = client.request(method, url, data=data)
        assert answer.status_code == 403, (method, url)
        assert_console_page(answer)
    assert [i.name for i in store.snapshots("prod")] == ["before-change"]
    assert store.index.head() == head


def test_an_area_scoped_writer_cannot_restore(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    _seed(store)
    sign_in(client, bearer(make_token("writer", scopes=["prod:global_setting"])))
    # as the API: snapshots and restore need every area of the environment
    assert client.get("/ui/envs/prod/snapshots").status_code == 403
    assert client.get("/ui/envs/prod/restore?to_snapshot=before-change").status_code == 403
    sign_in(client, bearer(make_token("writer", scopes=["staging"])))
    assert client.get("/ui/envs/prod/snapshots").status_code == 403
