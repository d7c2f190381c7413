"""Hostile and unlucky input to the console: NUL characters in URLs and forms, JSON nested
too deeply for the editor, return paths that climb out of the console. Each answer is a
clear 4xx page, nothing is written, never a 500 or a 503."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, csrf_of, sign_in
from tests.infrastructure.http.conftest import Headers

FLAG = "/ui/envs/prod/entries/feature_flag/f1"
FLAG_ADDRESS = Address("prod", "feature_flag", "f1")


def _flag(client: TestClient, admin: Headers) -> None:
    answer = client.put("/v1/envs/prod/entries/feature_flag/f1", json={}, headers=admin)
    assert answer.status_code == 201, answer.text


def test_a_nul_in_the_url_is_a_400_page_not_a_database_error(
    client: TestClient, admin: Headers
) -> None:
    sign_in(client, bearer(admin))
    for url in (
        "/ui/audit?actor=%00",
        "/ui/audit?area=%00&key=%00&source=%00&event=%00",
        "/ui/audit.csv?actor=%00",
        "/ui/envs/prod/snapshots/%00/delete",
        "/ui/envs/prod/restore?to_snapshot=%00",
        "/ui/envs/prod/compare?mode=points&from=%00",
        "/ui/envs/prod/areas/feature_flag?q=%00",
        "/ui/login?next=%00",
    ):
        answer = client.get(url)
        assert answer.status_code == 400, (url, answer.status_code)
        assert "text/html" in answer.headers["content-type"], url
        assert "NUL" in answer.text, url
        assert answer.headers["cache-control"] == "no-store"


def test_a_snapshot_reason_with_a_nul_is_refused_as_invalid(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _flag(client, admin)
    csrf = sign_in(client, bearer(admin))
    answer = client.post(
        "/ui/envs/prod/snapshots", data={"csrf": csrf, "name": "before", "reason": "a\x00b"}
    )
    assert answer.status_code == 422, answer.text
    assert "must not contain NUL characters" in answer.text
    assert store.snapshots("prod") == []


def test_raw_json_nested_too_deeply_is_a_field_error(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _flag(client, admin)
    csrf = sign_in(client, bearer(admin))
    for raw in (
        "[" * 100_000 + "]" * 100_000,  # deeper than the JSON parser goes
        '{"description": ' + "[" * 900 + "]" * 900 + "}",  # parsed, deeper than the limits
        '{"description": ' + '{"a": ' * 900 + "1" + "}" * 900 + "}",
    ):
        for action in ("preview", "save"):
            answer = client.post(
                f"{FLAG}/{action}",
                data={"csrf": csrf, "mode": "raw", "raw": raw, "version": "1", "reason": "deep"},
            )
            assert answer.status_code == 422, (action, raw[:30], answer.status_code)
            assert "nested" in answer.text
    assert store.get(FLAG_ADDRESS).version == 1


def test_raw_json_refuses_what_the_api_refuses(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _flag(client, admin)
    csrf = sign_in(client, bearer(admin))
    for raw in ('{"rollout_percent": NaN}', '{"description": Infinity}'):
        answer = client.post(
            f"{FLAG}/save",
            data={"csrf": csrf, "mode": "raw", "raw": raw, "version": "1", "reason": "nan"},
        )
        assert answer.status_code == 422, answer.text
        assert "not a JSON number" in answer.text
    assert store.get(FLAG_ADDRESS).version == 1


def test_next_never_climbs_out_of_the_console(client: TestClient, admin: Headers) -> None:
    token = bearer(admin)
    for target in (
        "/ui/../v1/tokens",
        "/ui/%2e%2e/v1/tokens",
        "/ui/%2E%2E/docs",
        "/ui/..%2fv1/tokens",
        "/ui/./../docs",
        "/ui/audit/../../v1/audit",
    ):
        csrf = csrf_of(client.get("/ui/login").text)
        answer = client.post(
            "/ui/login", data={"csrf": csrf, "token": token, "next": target}, follow_redirects=False
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/", target
    csrf = csrf_of(client.get("/ui/login").text)
    kept = client.post(
        "/ui/login",
        data={"csrf": csrf, "token": token, "next": "/ui/envs/prod/areas/a..b"},
        follow_redirects=False,
    )
    assert kept.headers["location"] == "/ui/envs/prod/areas/a..b"
