"""Scheduling from the entry editor ("Or apply at"): a refused time is reported at the
"apply at" input, which stays on the page with what the user typed (over HTTP and in
Chromium)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.console.conftest import Console, bearer, sign_in, signed_in
from tests.infrastructure.http.conftest import SETUP, Headers

FLAG = Address("prod", "feature_flag", "f1")
URL = "/ui/envs/prod/entries/feature_flag/f1"


def _input(html: str, dom_id: str) -> str:
    found = re.search(rf'<input [^>]*id="{dom_id}"[^>]*>', html)
    assert found, f"no input #{dom_id}"
    return found.group(0)


def _summary_targets(html: str) -> list[str]:
    summary = re.search(r'<div id="error-summary".*?</div>', html, re.S)
    assert summary, "no error summary"
    return re.findall(r'<a href="#([^"]+)"', summary.group(0))


def test_a_refused_apply_at_stays_on_the_page_with_its_error_beside_it(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(FLAG, {}, provenance=SETUP)
    csrf = sign_in(client, bearer(admin))
    form = {"csrf": csrf, "version": "1", "mode": "form", "description": "later"}
    for typed, problem in (
        ("2020-01-01T00:00", "2020-01-01T00:00:00+00:00 is not in the future"),
        ("soon", "'soon' is not an ISO-8601 time"),
    ):
        answer = client.post(URL + "/schedule", data=form | {"apply_at": typed})
        assert answer.status_code == 422
        html = answer.text
        assert _summary_targets(html) == ["f-apply_at"]  # the input's real id
        field = _input(html, "f-apply_at")
        assert f'value="{typed}"' in field
        assert 'aria-invalid="true"' in field and 'aria-describedby="err-apply_at"' in field
        error = re.search(r'<p class="field-error" id="err-apply_at">([^<]*)</p>', html)
        assert error is not None and problem in unescape(error.group(1)), typed
        assert 'formaction="' + URL + '/schedule"' in html  # Schedule can be pressed again
        assert 'id="f-description" name="description" value="later"' in html
        assert "f-at" not in html
    assert store.scheduled_changes("prod") == []


def test_a_refused_value_still_answers_with_the_form_alone(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(FLAG, {}, provenance=SETUP)
    csrf = sign_in(client, bearer(admin))
    form = {"csrf": csrf, "version": "1", "mode": "form", "description": "x" * 5000}
    answer = client.post(URL + "/schedule", data=form | {"apply_at": "2099-01-01T00:00"})
    assert answer.status_code == 422
    assert _summary_targets(answer.text) == ["f-description"]
    assert store.scheduled_changes("prod") == []


def test_a_past_apply_at_is_reported_at_the_apply_at_field(page: Any, console: Console) -> None:
    with console.api() as api:
        assert api.put("/v1/envs/prod/entries/feature_flag/f1", json={}).status_code == 201
    signed_in(page, console.token("sched-writer", "writer"))
    page.goto(URL)
    page.get_by_label("Description").fill("later")
    page.get_by_role("button", name="Preview").click()
    page.get_by_label("Or apply at (UTC)").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Schedule").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "not in the future" in summary.inner_text()
    targets = [link.get_attribute("href") for link in summary.locator("a").all()]
    assert targets == ["#f-apply_at"]
    assert page.locator("#f-apply_at").count() == 1  # each problem links to its field
    assert "apply" in summary.inner_text().lower()  # names the field the user filled
    assert page.get_by_label("Or apply at (UTC)").input_value() == "2020-01-01T00:00"
    assert page.get_by_label("Description").input_value() == "later"
    with console.api() as api:
        assert api.get("/v1/envs/prod/scheduled").json()["items"] == []
