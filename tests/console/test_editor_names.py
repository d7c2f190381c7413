"""Accessible names of the editor's controls that repeat per list item: each Reveal
button and "Remove this item" checkbox names its field and item (aria-label starting
with the visible text), so a list of buttons or form controls has no duplicates. Over
HTML, and as Chromium's accessibility tree names them."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.console.conftest import Console, bearer, sign_in, signed_in
from tests.infrastructure.http.conftest import SETUP, Headers

PROVIDER = Address("prod", "provider", "openai")
URL = "/ui/envs/prod/entries/provider/openai"
VALUE = {
    "provider_type": "openai",
    "base_url": "https://api.example.com",
    "keys": [
        {"name": "main", "api_key": "sk-main-0123456789"},
        {"name": "backup", "api_key": "sk-backup-0123456789"},
    ],
}


def _names(html: str, pattern: str) -> dict[str, str]:
    """The aria-label of each element whose id matches ``pattern``, by id."""
    found = re.findall(rf'<[^>]* id="({pattern})"[^>]*aria-label="([^"]*)"', html)
    return {element: unescape(name) for element, name in found}


def _reveal_names(html: str) -> list[str]:
    found = re.findall(r'<button [^>]*class="[^"]*reveal-button[^>]*aria-label="([^"]*)"', html)
    return [unescape(name) for name in found]


def test_each_repeated_control_names_its_field_and_item(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(PROVIDER, VALUE, provenance=SETUP)
    sign_in(client, bearer(admin))
    html = client.get(URL).text
    assert _reveal_names(html) == [
        "Reveal Api key of Keys 1 (main)",
        "Reveal Api key of Keys 2 (backup)",
    ]
    assert _names(html, r"rm-[^\"]+") == {
        "rm-keys-0": "Remove this item: Keys 1 (main)",
        "rm-keys-1": "Remove this item: Keys 2 (backup)",
    }


def test_a_new_item_is_named_by_its_number(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(PROVIDER, VALUE, provenance=SETUP)
    sign_in(client, bearer(admin))
    added = client.get(URL + "/item", params={"group": "keys", "index": "2"})
    assert added.status_code == 200
    assert _names(added.text, "rm-keys-2") == {"rm-keys-2": "Remove this item: New keys item (3)"}


def test_chromium_finds_each_reveal_and_remove_by_its_own_name(page: Any, console: Console) -> None:
    with console.api() as api:
        assert api.put("/v1/envs/prod/entries/provider/openai", json=VALUE).status_code == 201
    signed_in(page, console.admin_token)
    page.goto(URL)
    for item in ("Keys 1 (main)", "Keys 2 (backup)"):
        reveal = page.get_by_role("button", name=f"Reveal Api key of {item}", exact=True)
        remove = page.get_by_role("checkbox", name=f"Remove this item: {item}", exact=True)
        assert (reveal.count(), remove.count()) == (1, 1), item
    assert page.get_by_role("button", name="Reveal", exact=True).count() == 0
    page.get_by_role("button", name="Reveal Api key of Keys 2 (backup)").click()
    page.get_by_text("sk-backup-0123456789").wait_for()  # the right item's secret
