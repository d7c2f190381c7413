"""The history page of an entry over HTTP: versions newest first, the diff of any two
versions (secrets never shown), rollback with preview, reason and the version it was
previewed at, refusals (readers, conflicts, bad parameters) and hostile text."""

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
from tests.infrastructure.http.conftest import Headers

MOTD = Address("prod", "global_setting", "motd")
OPENAI = Address("prod", "provider", "openai")
HISTORY = "/ui/envs/prod/entries/global_setting/motd/history"
ROLLBACK = "/ui/envs/prod/entries/global_setting/motd/rollback"


def who(reason: str, actor: str = "alice") -> Provenance:
    return Provenance(actor=actor, reason=reason, source="cli", correlation_id="t")


@pytest.fixture
def motd(store: ConfigStore) -> ConfigStore:
    """global_setting/motd at versions 1 (one), 2 (two), 3 (three)."""
    for n, text in enumerate(("one", "two", "three"), start=1):
        store.set(MOTD, {"value": text}, provenance=who(f"reason {n}"))
    return store


def versions_listed(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'<tr id="v(\d+)">', html)]


def rows_of(html: str) -> dict[str, tuple[str, str, str]]:
    """Diff rows by path: (kind, left, right) as the page shows them."""
    found = re.findall(
        r'<tr class="diff-(\w+)">\s*<th scope="row"[^>]*>(.*?)<span class="diff-kind">.*?'
        r'<td class="mono diff-left">(.*?)</td>\s*<td class="mono diff-right">(.*?)</td>',
        html,
        re.S,
    )
    return {unescape(p): (k, unescape(a), unescape(b)) for k, p, a, b in found}


def test_versions_newest_first_with_who_why_and_where(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    answer = client.get(HISTORY)
    assert answer.status_code == 200
    assert_console_page(answer)
    assert inline_code(answer.text) == []
    assert versions_listed(answer.text) == [3, 2, 1]
    for text in ("alice", "reason 1", "reason 3", "replaced", "created", "cli", "UTC"):
        assert text in answer.text
    # By default the last change is shown.
    assert rows_of(answer.text)["value"] == ("changed", '"two"', '"three"')
    assert "Roll back to this" in answer.text  # admins may roll back


def test_diff_between_any_two_versions(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    answer = client.get(HISTORY, params={"from": "3", "to": "1"})
    assert answer.status_code == 200
    assert rows_of(answer.text)["value"] == ("changed", '"three"', '"one"')
    same = client.get(HISTORY, params={"from": "2", "to": "2"})
    assert "hold the same stored value" in same.text
    assert rows_of(same.text)["value"] == ("same", '"two"', '"two"')


def test_changed_secrets_are_marked_never_shown(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    for plain in ("sk-first-plaintext", "sk-second-plaintext"):
        keys = [{"name": "main", "api_key": plain}]
        store.set(OPENAI, {"provider_type": "openai", "keys": keys}, provenance=who("key"))
    sign_in(client, bearer(admin))
    answer = client.get("/ui/envs/prod/entries/provider/openai/history?from=1&to=2")
    assert answer.status_code == 200
    assert "plaintext" not in answer.text and "enc:" not in answer.text
    assert rows_of(answer.text)["keys.0.api_key"] == ("changed", "********", "********")


def preview(client: TestClient, **params: str) -> Any:
    answer = client.get(ROLLBACK, params=params)
    assert answer.status_code == 200, answer.text
    assert_console_page(answer)
    assert inline_code(answer.text) == []
    return answer


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def test_rollback_preview_then_apply(client: TestClient, admin: Headers, motd: ConfigStore) -> None:
    csrf = sign_in(client, bearer(admin))
    shown = preview(client, to_version="1")
    assert rows_of(shown.text)["value"] == ("changed", '"three"', '"one"')
    assert (hidden(shown.text, "to_version"), hidden(shown.text, "expected_version")) == ("1", "3")
    assert motd.get(MOTD).version == 3  # a preview writes nothing
    form = {"csrf": csrf, "to_version": "1", "expected_version": "3", "reason": "back to one"}
    done = client.post(ROLLBACK, data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"{HISTORY}?rolled=4&from=3&to=4"
    view = motd.get(MOTD)
    assert (view.version, view.stored) == (4, {"value": "one"})
    last = motd.history(MOTD)[-1]
    assert (last.event, last.actor, last.reason, last.source) == (
        "rolled_back",
        "root-admin",
        "back to one",
        "console",
    )
    assert last.target_version == 1
    page = client.get(done.headers["location"])
    assert "Rolled back: the entry is now version 4." in page.text
    assert versions_listed(page.text) == [4, 3, 2, 1]


def test_rollback_to_a_time(client: TestClient, admin: Headers, motd: ConfigStore) -> None:
    csrf = sign_in(client, bearer(admin))
    second = motd.history(MOTD)[1].recorded_at
    assert second is not None
    shown = preview(client, to_time=second.isoformat())
    assert "is version 2" in shown.text
    form = {"csrf": csrf, "to_version": hidden(shown.text, "to_version"), "expected_version": "3"}
    assert client.post(ROLLBACK, data=form, follow_redirects=False).status_code == 303
    assert motd.get(MOTD).stored == {"value": "two"}
    assert motd.history(MOTD)[-1].reason is None


def test_rollback_to_the_current_value_writes_nothing(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    csrf = sign_in(client, bearer(admin))
    assert "nothing to do" in preview(client, to_version="3").text
    form = {"csrf": csrf, "to_version": "3", "expected_version": "3"}
    done = client.post(ROLLBACK, data=form, follow_redirects=False)
    assert done.headers["location"] == f"{HISTORY}?unchanged=3"
    assert motd.get(MOTD).version == 3


def test_a_conflicting_rollback_writes_nothing(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    csrf = sign_in(client, bearer(admin))
    shown = preview(client, to_version="1")
    motd.set(MOTD, {"value": "four"}, provenance=who("meanwhile", actor="bob"))
    form = {
        "csrf": csrf,
        "to_version": "1",
        "expected_version": hidden(shown.text, "expected_version"),
        "reason": "mine",
    }
    answer = client.post(ROLLBACK, data=form)
    assert answer.status_code == 409
    assert_console_page(answer)
    assert "Nothing was written" in answer.text
    assert "bob" in answer.text
    assert motd.get(MOTD).stored == {"value": "four"}
    assert motd.get(MOTD).version == 4
    # The page offers the rollback again, against the new current version.
    assert hidden(answer.text, "expected_version") == "4"
    assert rows_of(answer.text)["value"] == ("changed", '"four"', '"one"')
    assert ">mine</textarea>" in answer.text


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_reason_and_value_render_inert(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    csrf = sign_in(client, bearer(admin))
    motd.set(MOTD, {"value": HOSTILE}, provenance=who(HOSTILE, actor="mallory"))
    form = {"csrf": csrf, "to_version": "1", "expected_version": "4", "reason": HOSTILE}
    assert client.post(ROLLBACK, data=form, follow_redirects=False).status_code == 303
    assert motd.history(MOTD)[-1].reason == HOSTILE
    for url in (HISTORY, f"{HISTORY}?from=3&to=4", f"{ROLLBACK}?to_version=4"):
        answer = client.get(url)
        assert answer.status_code == 200
        assert inline_code(answer.text) == []
        assert "<script>alert" not in answer.text and "<img src=x" not in answer.text
        assert "&lt;script&gt;" in answer.text


def test_long_histories_are_paged(client: TestClient, admin: Headers, store: ConfigStore) -> None:
    for n in range(1, 56):
        store.set(MOTD, {"value": f"v{n}"}, provenance=who(f"reason {n}"))
    sign_in(client, bearer(admin))
    first = client.get(HISTORY)
    assert versions_listed(first.text) == list(range(55, 5, -1))
    assert "page 1 of 2" in first.text and "Older versions" in first.text
    second = client.get(HISTORY, params={"page": "2", "from": "1", "to": "2"})
    assert versions_listed(second.text) == [5, 4, 3, 2, 1]
    assert rows_of(second.text)["value"] == ("changed", '"v1"', '"v2"')
    assert "Newer versions" in second.text


def test_a_deleted_entry_comes_back_by_rollback(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    motd.delete(MOTD, provenance=who("gone"))
    csrf = sign_in(client, bearer(admin))
    page = client.get(HISTORY)
    assert "The entry is deleted (version 4)" in page.text
    assert "/rollback?to_version=4" not in page.text  # a deleted state is no target
    assert "a deleted state" in preview(client, to_version="4").text
    shown = preview(client, to_version="2")
    assert "Now: version 4 (deleted)" in shown.text
    form = {"csrf": csrf, "to_version": "2", "expected_version": "4", "reason": "undo"}
    assert client.post(ROLLBACK, data=form, follow_redirects=False).status_code == 303
    view = motd.get(MOTD)
    assert (view.version, view.deleted, view.stored) == (5, False, {"value": "two"})
