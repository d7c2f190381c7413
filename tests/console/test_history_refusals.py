"""The history page refuses what the API refuses: readers' and out-of-scope rollbacks,
a POST without the CSRF token, bad versions, times and pages (a 400 page, never a 500),
unknown entries; a broken log is a message, not a crash."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page
from tests.console.test_history import HISTORY, MOTD, ROLLBACK, motd
from tests.infrastructure.http.conftest import ClientMaker, Headers, TokenMaker
from tests.integrity_support import Tables

__all__ = ["motd"]


def test_readers_see_no_rollback_and_are_refused(
    make_client: ClientMaker, make_token: TokenMaker, motd: ConfigStore
) -> None:
    reader = make_client()
    csrf = sign_in(reader, bearer(make_token("reader")))
    page = reader.get(HISTORY)
    assert page.status_code == 200
    assert "Roll back" not in page.text and "/rollback" not in page.text
    assert reader.get(ROLLBACK, params={"to_version": "1"}).status_code == 403
    form = {"csrf": csrf, "to_version": "1", "expected_version": "3"}
    refused = reader.post(ROLLBACK, data=form)
    assert refused.status_code == 403
    assert_console_page(refused)
    assert motd.get(MOTD).version == 3


def test_scopes_limit_the_history(
    make_client: ClientMaker, make_token: TokenMaker, motd: ConfigStore
) -> None:
    scoped = make_client()
    csrf = sign_in(scoped, bearer(make_token("writer", scopes=["prod:router"])))
    assert scoped.get(HISTORY).status_code == 403
    form = {"csrf": csrf, "to_version": "1", "expected_version": "3"}
    assert scoped.post(ROLLBACK, data=form).status_code == 403
    assert motd.get(MOTD).version == 3


def test_a_rollback_without_the_csrf_token_is_refused(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    form = {"to_version": "1", "expected_version": "3"}
    assert client.post(ROLLBACK, data=form).status_code == 403
    assert motd.get(MOTD).version == 3


@pytest.mark.parametrize(
    "query",
    [
        "from=0",
        "to=0",
        "from=-1",
        "to=" + "1" + "0" * 30,
        "from=%E2%91%A0",  # circled digit one
        "to=%D9%A3",  # Arabic-Indic three
        "from=1e3",
        "from=%00",
        "to=9",  # beyond the latest version
        "page=0",
        "page=2",
        "page=" + "9" * 40,
        "rolled=-1",
    ],
)
def test_bad_history_parameters_are_a_400_page(
    client: TestClient, admin: Headers, motd: ConfigStore, query: str
) -> None:
    sign_in(client, bearer(admin))
    answer = client.get(f"{HISTORY}?{query}")
    assert answer.status_code == 400, answer.text
    assert_console_page(answer)
    assert "Bad request" in answer.text


@pytest.mark.parametrize(
    "query",
    [
        "to_version=0",
        "to_version=-1",
        "to_version=" + "1" + "0" * 30,
        "to_version=%EF%BC%91",  # fullwidth one
        "to_version=9",
        "to_time=yesterday",
        "to_time=2026-13-01",
        "to_version=1&to_time=2026-01-01T00:00:00Z",
        "",
    ],
)
def test_bad_rollback_parameters_are_a_400_page(
    client: TestClient, admin: Headers, motd: ConfigStore, query: str
) -> None:
    sign_in(client, bearer(admin))
    answer = client.get(f"{ROLLBACK}?{query}")
    assert answer.status_code == 400, answer.text
    assert_console_page(answer)


@pytest.mark.parametrize(
    "fields",
    [
        {"to_version": "0", "expected_version": "3"},
        {"to_version": "-1", "expected_version": "3"},
        {"to_version": "1" + "0" * 30, "expected_version": "3"},
        {"to_version": "\uff11", "expected_version": "3"},
        {"to_version": "1"},
        {"to_version": "1", "expected_version": "3", "reason": "x" * 2001},
    ],
)
def test_bad_rollback_forms_are_a_400_page(
    client: TestClient, admin: Headers, motd: ConfigStore, fields: dict[str, str]
) -> None:
    csrf = sign_in(client, bearer(admin))
    answer = client.post(ROLLBACK, data={"csrf": csrf, **fields})
    assert answer.status_code == 400, answer.text
    assert_console_page(answer)
    assert motd.get(MOTD).version == 3


def test_unknown_entries_and_areas_are_not_found(client: TestClient, admin: Headers) -> None:
    sign_in(client, bearer(admin))
    assert client.get("/ui/envs/prod/entries/global_setting/nothing/history").status_code == 404
    assert client.get("/ui/envs/prod/entries/no_such_area/x/history").status_code == 404


def test_a_broken_log_is_a_message_not_a_crash(
    client: TestClient,
    admin: Headers,
    motd: ConfigStore,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    Tables(db, schema).delete_event(MOTD, 2)
    sign_in(client, bearer(admin))
    for url in (HISTORY, f"{ROLLBACK}?to_version=1"):
        answer = client.get(url)
        assert answer.status_code == 503, answer.text
        assert_console_page(answer)
        assert "cannot be read" in answer.text
        assert "conduit-config repair" in answer.text
