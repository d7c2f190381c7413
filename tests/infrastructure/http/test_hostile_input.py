"""Hostile input over HTTP: every number, version, position, time and header is parsed
strictly and a bad one is 400/422 naming it, never a 5xx; bodies are strict JSON;
``If-Match: *``; a scoped reader's audit pages. Each case asserts that nothing was
appended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import Headers, TokenMaker

FLAG = "/v1/envs/prod/entries/feature_flag/beta"
ROUTER = "/v1/envs/prod/entries/router/default"
PROBLEM = "application/problem+json"
HUGE = "99999999999999999999"  # beyond a PostgreSQL bigint
PAST_UTC = "9999-12-31T23:59:59-14:00"  # exists in its offset, not in UTC
BEFORE_YEAR_1 = "0001-01-01T00:00:00+14:00"


def problem(response: Any, status: int, *mentions: str) -> dict[str, Any]:
    """The problem body of ``response``, which must have ``status`` and mention each of
    ``mentions`` (the parameter it names)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    text = response.text
    assert "Traceback" not in text and "internal error" not in text
    for mention in mentions:
        assert mention in text, (mention, text)
    return body


def log_head(store: ConfigStore) -> int:
    return store.index.head()


@pytest.fixture
def flag(client: TestClient, admin: Headers) -> str:
    """An entry at version 2."""
    assert client.put(FLAG, json={"enabled": True}, headers=admin).status_code == 201
    assert client.put(FLAG, json={"enabled": False}, headers=admin).status_code == 200
    return FLAG


@pytest.mark.parametrize("bad", ["²", "٣", "+1", "1_0", " 1", "-1", HUGE, "0"])
def test_entry_diff_versions_are_strict(
    client: TestClient, admin: Headers, flag: str, bad: str
) -> None:
    problem(client.get(flag + "/diff", params={"from": bad, "to": "1"}, headers=admin), 400, "from")
    problem(client.get(flag + "/diff", params={"from": "1", "to": bad}, headers=admin), 400, "to")


def test_version_zero_is_before_the_entry_existed(
    client: TestClient, admin: Headers, flag: str
) -> None:
    body = problem(client.get(flag + "/diff", params={"from": 0, "to": 1}, headers=admin), 400)
    assert "versions start at 1" in body["detail"]


@pytest.mark.parametrize("bad", [PAST_UTC, BEFORE_YEAR_1, "", "yesterday", "2026-13-01"])
def test_times_are_strict_and_in_range(
    client: TestClient, admin: Headers, flag: str, bad: str
) -> None:
    params: dict[str, str] = {"from": bad, "to": "1"}
    problem(client.get(flag + "/diff", params=params, headers=admin), 400, "from")
    problem(client.get(flag, params={"as_of": bad}, headers=admin), 400, "as_of")
    problem(client.get("/v1/envs/prod", params={"as_of": bad}, headers=admin), 400, "as_of")
    for name in ("since", "until"):
        audit = client.get("/v1/audit", params={"env": "prod", name: bad}, headers=admin)
        problem(audit, 400, name)


@pytest.mark.parametrize("bad", ["²", HUGE, "1.5", "+3"])
def test_integer_queries_are_strict_and_bounded(
    client: TestClient, admin: Headers, flag: str, bad: str
) -> None:
    for path, name in (
        (flag, "version"),
        (flag + "/history", "limit"),
        ("/v1/envs/prod", "position"),
        ("/v1/envs/prod/entries", "min_position"),
        ("/v1/audit", "before"),
        ("/v1/audit", "limit"),
        ("/v1/changes", "after"),
    ):
        problem(client.get(path, params={name: bad}, headers=admin), 422, name)
    doc = {"entries": {}}
    applied = client.post(
        "/v1/envs/prod/apply", params={"expected_position": bad}, json=doc, headers=admin
    )
    problem(applied, 422, "expected_position")


def test_audit_cursor_beyond_bigint_is_not_an_outage(client: TestClient, admin: Headers) -> None:
    problem(client.get("/v1/audit", params={"env": "prod", "before": HUGE}, headers=admin), 422)
    biggest = str(2**63 - 1)
    assert client.get("/v1/audit", params={"before": biggest}, headers=admin).status_code == 200


@pytest.mark.parametrize("bad", [HUGE, PAST_UTC, "1x", "", " "])
def test_environment_diff_points_are_strict(client: TestClient, admin: Headers, bad: str) -> None:
    problem(client.get("/v1/envs/prod/diff", params={"from": bad}, headers=admin), 400, "from")
    got = client.get("/v1/envs/prod/diff", params={"from": "0", "to": bad}, headers=admin)
    problem(got, 400, "to")


def test_environment_diff_point_that_no_snapshot_can_be_named_is_malformed(
    client: TestClient, admin: Headers
) -> None:
    for name in ("²", "٣", "-1"):  # not digits 0-9, and no snapshot name either
        got = client.get("/v1/envs/prod/diff", params={"from": name}, headers=admin)
        problem(got, 400, "from")
    got = client.get("/v1/envs/prod/diff", params={"from": "nothing-yet"}, headers=admin)
    problem(got, 404, "snapshot")  # a possible name: there is no such snapshot


# Header bytes: b"\xb2" is "²" as a server decodes it (latin-1), then the UTF-8 forms.
HEADER_DIGITS = [b"\xb2", b'"\xb2"', "²".encode(), '"٣"'.encode()]
ENDLESS = b"9" * 5000  # int() refuses over 4300 digits


@pytest.mark.parametrize(
    "bad",
    [
        *HEADER_DIGITS,
        f'"{HUGE}"'.encode(),
        b'W/"' + ENDLESS + b'"',
        b"0" * 5000 + b"1" * 20,
        b"v2",
        b'"1',
        b'W/"x"',
        b'"1", "2"',
        b"",
    ],
)
def test_if_match_garbage_is_400_naming_it(
    client: TestClient, admin: Headers, store: ConfigStore, flag: str, bad: bytes
) -> None:
    before = log_head(store)
    put = client.put(flag, json={"enabled": True}, headers={**admin, "If-Match": bad})
    problem(put, 400, "If-Match")
    assert log_head(store) == before


def test_header_text_in_a_message_reads_as_sent(
    client: TestClient, admin: Headers, flag: str
) -> None:
    # UTF-8 header bytes are named as the sender wrote them, not as latin-1 ("Â²").
    put = client.put(flag, json={"enabled": True}, headers={**admin, "If-Match": "²".encode()})
    assert "'²'" in problem(put, 400, "If-Match")["detail"]
    assert "Â" not in put.text


def test_if_match_star_means_any_current_version(
    client: TestClient, admin: Headers, store: ConfigStore, flag: str
) -> None:
    star = {**admin, "If-Match": "*"}
    changed = client.patch(flag, json={"rollout_percent": 5}, headers=star)
    assert (changed.status_code, changed.headers["etag"]) == (200, '"3"')
    weak = client.patch(flag, json={"rollout_percent": 6}, headers={**admin, "If-Match": 'W/"3"'})
    assert weak.headers["etag"] == '"4"'
    missing = "/v1/envs/prod/entries/feature_flag/nobody"
    problem(client.put(missing, json={"enabled": True}, headers=star), 412, "does not exist")
    assert client.delete(flag, headers=admin).status_code == 200
    before = log_head(store)
    problem(client.put(flag, json={"enabled": True}, headers=star), 412, "deleted")
    problem(client.get(missing, headers=admin), 404)
    assert log_head(store) == before


@pytest.mark.parametrize("bad", [*HEADER_DIGITS, HUGE.encode(), ENDLESS, b"-3", b"1e3"])
def test_last_event_id_is_strict(client: TestClient, admin: Headers, bad: bytes) -> None:
    got = client.get("/v1/changes", headers={**admin, "Last-Event-ID": bad})
    problem(got, 400, "Last-Event-ID")


@pytest.mark.parametrize(
    "text", ['{"enabled": NaN}', '{"enabled": Infinity}', '{"rollout_percent": -Infinity}']
)
def test_nan_and_infinity_bodies_are_malformed_json(
    client: TestClient, admin: Headers, store: ConfigStore, text: str
) -> None:
    before = log_head(store)
    headers = {**admin, "Content-Type": "application/json"}
    for method, path in (("PUT", FLAG), ("PATCH", ROUTER), ("POST", "/v1/envs/prod/apply")):
        body = text if path != "/v1/envs/prod/apply" else f'{{"entries": {text}}}'
        sent = client.request(method, path, content=body, headers=headers)
        assert "not valid JSON" in problem(sent, 400)["detail"]
    problem(client.get(FLAG, headers=admin), 404)
    assert log_head(store) == before


def test_bodies_that_are_not_utf8_or_too_deep_are_400(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    before = log_head(store)
    headers = {**admin, "Content-Type": "application/json"}
    problem(client.put(FLAG, content=b'{"description": "\xff"}', headers=headers), 400)
    surrogate = b'{"description": "\xed\xa0\x80"}'  # a UTF-8-encoded surrogate: not UTF-8
    assert (
        "not UTF-8" in problem(client.put(FLAG, content=surrogate, headers=headers), 400)["detail"]
    )
    deep = b"[" * 200_000 + b"]" * 200_000
    problem(client.put(FLAG, content=deep, headers=headers), 400)
    assert log_head(store) == before


def test_lone_surrogates_never_cause_a_5xx(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    headers = {**admin, "Content-Type": "application/json"}
    before = log_head(store)
    for path, body in (
        (FLAG, b'{"description": "\\ud800"}'),
        ("/v1/envs/prod/entries/virtual_key/k", b'{"metadata": {"\\udc00": 1}}'),
        ("/v1/envs/prod/apply", b'{"entries": {"feature_flag": {"\\ud800": {}}}}'),
    ):
        sent = client.request(
            "POST" if "apply" in path else "PUT", path, content=body, headers=headers
        )
        assert sent.status_code in (400, 422), sent.text
        assert sent.headers["content-type"] == PROBLEM
    snapshot = client.post(
        "/v1/envs/prod/snapshots", content=b'{"name": "x\\ud800"}', headers=headers
    )
    assert snapshot.status_code in (400, 422), snapshot.text
    assert log_head(store) == before


def test_times_in_bodies_out_of_range_are_422(
    client: TestClient, admin: Headers, store: ConfigStore, flag: str
) -> None:
    before = log_head(store)
    scheduled = {"area": "feature_flag", "key": "beta", "operation": "delete"}
    for due in (PAST_UTC, BEFORE_YEAR_1):
        got = client.post(
            "/v1/envs/prod/scheduled", json={**scheduled, "due_at": due}, headers=admin
        )
        problem(got, 422, "due_at")
    for body in ({"to_time": PAST_UTC}, {"to_version": 2**63}):
        problem(client.post(flag + "/rollback", json=body, headers=admin), 422)
    for body in ({"to_time": PAST_UTC}, {"to_position": 2**63}):
        problem(client.post("/v1/envs/prod/restore", json=body, headers=admin), 422)
    problem(
        client.post(
            "/v1/envs/prod/scheduled",
            json={**scheduled, "due_at": "2099-01-01T00:00:00Z", "expected_version": 2**63},
            headers=admin,
        ),
        422,
        "expected_version",
    )
    assert log_head(store) == before


def test_rollback_to_the_current_value_appends_nothing(
    client: TestClient, admin: Headers, store: ConfigStore, flag: str
) -> None:
    before = log_head(store)
    same = client.post(flag + "/rollback", json={"to_version": 2}, headers=admin)
    assert (same.status_code, same.json()["changed"], same.json()["version"]) == (200, False, 2)
    assert same.headers["etag"] == '"2"'
    assert log_head(store) == before
    back = client.post(flag + "/rollback", json={"to_version": 1}, headers=admin)
    assert (back.json()["changed"], back.json()["version"]) == (True, 3)
    again = client.post(flag + "/rollback", json={"to_version": 1}, headers=admin)
    assert (again.json()["changed"], again.json()["version"]) == (False, 3)


def test_token_expiring_in_the_past_is_refused(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    before = log_head(store)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for expires in (past, PAST_UTC):
        body = {"name": "late", "role": "reader", "expires_at": expires}
        problem(client.post("/v1/tokens", json=body, headers=admin), 422, "expires_at")
    assert log_head(store) == before
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"name": "later", "role": "reader", "expires_at": future}
    assert client.post("/v1/tokens", json=body, headers=admin).status_code == 201


def test_scoped_reader_audit_pages_are_full(
    client: TestClient, admin: Headers, make_token: TokenMaker
) -> None:
    mine = "/v1/envs/prod/entries/feature_flag/f{}"
    other = "/v1/envs/prod/entries/router/default"
    for i in range(3):
        assert client.put(mine.format(i), json={"enabled": True}, headers=admin).is_success
        for retries in range(8):  # many events this reader may not see, in between
            client.put(other, json={"max_retries": retries + 1 + i}, headers=admin)
    reader = make_token("reader", scopes=["prod:feature_flag"])
    seen: list[str] = []
    cursor: int | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"env": "prod", "limit": 2}
        if cursor is not None:
            params["before"] = cursor
        page = client.get("/v1/audit", params=params, headers=reader).json()
        pages += 1
        assert page["items"], "an empty page with a cursor"
        seen += [i["key"] for i in page["items"]]
        cursor = page["next_before"]
        if cursor is None:
            break
    assert seen == ["f2", "f1", "f0"]
    assert pages == 2


def test_chunked_bodies_meet_the_body_rules(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    before = log_head(store)
    big = iter([b'{"description": "', b"x" * 2_000_000, b'"}'])
    json_headers = {**admin, "Content-Type": "application/json"}
    assert (
        "over 1048576 bytes"
        in problem(client.put(FLAG, content=big, headers=json_headers), 413)["detail"]
    )
    text = iter([b'{"enabled": ', b"true}"])
    problem(client.put(FLAG, content=text, headers={**admin, "Content-Type": "text/plain"}), 415)
    assert log_head(store) == before


def test_text_headers_are_utf8(client: TestClient, admin: Headers) -> None:
    why = {**admin, "X-Change-Reason": "déploiement ✓".encode()}
    assert client.put(FLAG, json={"enabled": True}, headers=why).status_code == 201
    history = client.get(FLAG + "/history", headers=admin).json()["items"]
    assert history[0]["reason"] == "déploiement ✓"  # not mojibake of its latin-1 reading
