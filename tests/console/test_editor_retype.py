"""A secret typed into the editor is never sent back to the page; when the page shows the
form again (a refusal, a preview or a conflict without htmx, a refusal with htmx), a
note beside that secret's input says it was not kept and must be typed again, so it is
never lost silently (an empty box would keep the stored secret)."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page
from tests.console.test_editor import OTHER, PROVIDER, SECRET, URL, _form, _provider
from tests.infrastructure.http.conftest import Headers

TYPED = "sk-typed-by-the-user-42"
NOTE = re.compile(
    r'<p class="field-error secret-retype" id="retype-keys-0-api_key">(.*?)</p>', re.S
)


def _note(html: str) -> str:
    found = NOTE.search(html)
    assert found, "no note beside the secret"
    return unescape(found.group(1))


def _typed_absent(html: str) -> None:
    assert TYPED not in html and SECRET not in html and "enc:v" not in html


def test_a_refused_form_without_htmx_asks_for_the_typed_secret_again(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _provider(store)
    csrf = sign_in(client, bearer(admin))
    form = _form(csrf, 1, base_url="not a url", **{"keys.0.api_key": TYPED})
    for action in ("/preview", "/save", "/schedule"):
        answer = client.post(URL + action, data=form | {"apply_at": "2099-01-01T00:00"})
        assert answer.status_code == 422, (action, answer.text)
        assert_console_page(answer)
        _typed_absent(answer.text)
        assert "Type this secret again" in _note(answer.text)
        assert "the stored secret stays" in _note(answer.text)  # openai's key is stored
        assert re.search(
            r'id="f-keys-0-api_key" name="keys.0.api_key" value=""[^>]*'
            r'aria-describedby="[^"]*retype-keys-0-api_key"',
            answer.text,
        )
    untouched = client.post(URL + "/preview", data=_form(csrf, 1, base_url="not a url"))
    assert untouched.status_code == 422
    assert "secret-retype" not in untouched.text  # nothing typed: nothing to ask for
    assert store.get(PROVIDER).version == 1


def test_a_refusal_with_htmx_asks_too(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _provider(store)
    csrf = sign_in(client, bearer(admin))
    form = _form(csrf, 1, base_url="not a url", **{"keys.0.api_key": TYPED})
    answer = client.post(URL + "/preview", data=form, headers={"HX-Request": "true"})
    assert answer.status_code == 422 and "<html" not in answer.text
    _typed_absent(answer.text)
    assert "Type this secret again" in _note(answer.text)


def test_a_new_entry_does_not_claim_a_stored_secret(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    csrf = sign_in(client, bearer(admin))
    form = _form(csrf, 0, base_url="not a url", entry_key="fresh", **{"keys.0.api_key": TYPED})
    answer = client.post("/ui/envs/prod/entries/provider/new/preview", data=form)
    assert answer.status_code == 422, answer.text
    _typed_absent(answer.text)
    assert "the stored secret stays" not in _note(answer.text)
    assert re.search(r'secret-unset">unset</span>\s*<input type="password" id="f-keys-0-api_key"',
                     answer.text)  # fmt: skip


def test_a_preview_without_htmx_warns_before_save(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _provider(store)
    csrf = sign_in(client, bearer(admin))
    form = _form(csrf, 1, **{"keys.0.api_key": TYPED})
    answer = client.post(URL + "/preview", data=form)
    assert answer.status_code == 200, answer.text
    _typed_absent(answer.text)
    assert "Type this secret again" in _note(answer.text)
    assert 'id="preview-retype"' in answer.text and "keys.0.api_key" in answer.text
    htmx = client.post(URL + "/preview", data=form, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert "preview-retype" not in htmx.text  # htmx leaves the typed input as it was


def test_a_conflict_without_htmx_asks_for_the_typed_secret_again(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _provider(store)
    csrf = sign_in(client, bearer(admin))
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": SECRET}]}
    store.set(PROVIDER, value | {"base_url": "https://other.example"}, provenance=OTHER)
    answer = client.post(URL + "/save", data=_form(csrf, 1, **{"keys.0.api_key": TYPED}))
    assert answer.status_code == 409, answer.text
    _typed_absent(answer.text)
    assert "Type this secret again" in _note(answer.text)


def test_raw_json_sends_no_typed_secret_back(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _provider(store)
    csrf = sign_in(client, bearer(admin))
    raw = {
        "provider_type": "openai",
        "base_url": "not a url",
        "keys": [
            {"name": "main", "api_key": TYPED},
            {"name": "kept", "api_key": "********"},
        ],
    }
    data = {"csrf": csrf, "version": "1", "mode": "raw", "raw": json.dumps(raw)}
    answer = client.post(URL + "/preview", data=data)
    assert answer.status_code == 422, answer.text
    _typed_absent(answer.text)
    note = re.search(r'<p class="field-error secret-retype" id="retype-raw">(.*?)</p>',
                     answer.text, re.S)  # fmt: skip
    assert note and "keys.0.api_key" in note.group(1) and "keys.1" not in note.group(1)
    shown = re.search(r'<textarea id="f-raw"[^>]*>(.*?)</textarea>', answer.text, re.S)
    assert shown
    echoed = json.loads(unescape(shown.group(1)))
    assert echoed["keys"][0]["api_key"] == "" and echoed["keys"][1]["api_key"] == "********"
    assert echoed["base_url"] == "not a url"  # the rest of the input is kept
    assert store.get(Address("prod", "provider", "openai")).version == 1


def test_raw_text_that_is_not_json_is_not_shown_again_if_it_may_hold_a_secret(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _provider(store)
    csrf = sign_in(client, bearer(admin))
    data = {"csrf": csrf, "version": "1", "mode": "raw"}
    broken = '{"provider_type": "openai", "keys": [{"name": "main", "api_key": "' + TYPED + '"}'
    unterminated = '{"keys": [{"api_key" : "' + TYPED
    for text in (broken, unterminated):
        answer = client.post(URL + "/preview", data=data | {"raw": text})
        assert answer.status_code == 422, answer.text
        _typed_absent(answer.text)
        assert 'id="retype-raw"' in answer.text and "not valid JSON" in answer.text
        assert 'id="err-raw"' in answer.text
        assert "&#34;api_key&#34;: &#34;********&#34;" in answer.text  # the stored value
    kept = '{"provider_type": "openai", "keys": [{"api_key": "********"}'  # no typed secret
    answer = client.post(URL + "/preview", data=data | {"raw": kept})
    assert answer.status_code == 422
    assert "retype-raw" not in answer.text
    assert unescape(kept) in unescape(answer.text)  # shown again as typed
