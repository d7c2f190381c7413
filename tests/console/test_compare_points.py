"""Points of the log in compare "two points" and the API's environment diff: a value that
is neither ``now``, a position, a time nor a possible snapshot name (a negative number,
a name no snapshot can have) is a malformed parameter (400 naming it), never "no snapshot
named …" (404), in the console and the API alike (both parse with ``parsing.point``)."""

from __future__ import annotations

from html import unescape

import pytest
from fastapi.testclient import TestClient

from domain import parsing
from domain.parsing import MalformedInputError
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page
from tests.infrastructure.http.conftest import Headers

COMPARE = "/ui/envs/prod/compare"
NOT_A_POINT = ["-1", "-0", "-9223372036854775808", "bad name!", "_x", "\u2460", " now", "a/b"]


@pytest.mark.parametrize("text", NOT_A_POINT)
def test_what_is_no_point_is_malformed_naming_the_parameter(text: str) -> None:
    with pytest.raises(MalformedInputError) as caught:
        parsing.point(text, name="from")
    assert caught.value.name == "from"


def test_a_negative_position_says_so() -> None:
    with pytest.raises(MalformedInputError) as caught:
        parsing.point("-1", name="to")
    assert caught.value.problem == "a position cannot be negative; got '-1'"


def test_points_that_are_still_taken() -> None:
    assert parsing.point("now", name="from") is None
    assert parsing.point("12", name="from") == 12
    assert parsing.point("before-change.v2", name="from") == "before-change.v2"
    assert parsing.point("b" * 100, name="from") == "b" * 100


def test_a_name_too_long_for_a_snapshot_is_malformed() -> None:
    with pytest.raises(MalformedInputError):
        parsing.point("b" * 101, name="from")


@pytest.mark.parametrize(("field", "text"), [("from", "-1"), ("to", "-5"), ("from", "bad name!")])
def test_the_console_answers_400_naming_the_field(
    client: TestClient, admin: Headers, store: ConfigStore, field: str, text: str
) -> None:
    sign_in(client, bearer(admin))
    params = {"mode": "points", "from": "0", "to": "now", field: text}
    answer = client.get(COMPARE, params=params)
    assert answer.status_code == 400, answer.text
    assert_console_page(answer)
    page = unescape(answer.text)
    assert f"{field}:" in page
    assert "no snapshot named" not in page


def test_an_unknown_but_possible_snapshot_name_is_still_404(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    answer = client.get(COMPARE, params={"mode": "points", "from": "no-such-snapshot"})
    assert answer.status_code == 404
    assert "no snapshot named" in unescape(answer.text)


@pytest.mark.parametrize(("field", "text"), [("from", "-1"), ("to", "-5"), ("from", "bad name!")])
def test_the_api_answers_400_naming_the_parameter(
    client: TestClient, admin: Headers, field: str, text: str
) -> None:
    params = {"from": "0", "to": "now", field: text}
    answer = client.get("/v1/envs/prod/diff", params=params, headers=admin)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"].startswith(f"{field}: ")
