"""The area pages: every registered area with its counts, one area's entries with their
state, scoped as the API's list; hostile text inert; bad parameters a 400 page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from domain.address import Address
from domain.entry import Provenance
from infrastructure.console.areas_data import PAGE_SIZE, like_pattern
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page
from tests.infrastructure.custom_area import GuardrailConfig
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

HOSTILE = '<script>alert("x")</script> & "quoted" \u202e'


def _rows(html: str) -> list[str]:
    """The keys of an area page's entry table, in order."""
    return re.findall(r'<a class="mono" href="[^"]+">([^<]+)</a>', html)


def test_area_list_shows_every_area_with_counts(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    store.registry.register(GuardrailConfig)
    store.set(Address("prod", "guardrail", "strict"), {"mode": "block"}, provenance=SETUP)
    store.set(Address("prod", "global_setting", "a"), {"value": "1"}, provenance=SETUP)
    store.set(Address("prod", "global_setting", "b"), {"value": "2"}, provenance=SETUP)
    store.delete(Address("prod", "global_setting", "b"), provenance=SETUP)
    sign_in(client, bearer(admin))
    answer = client.get("/ui/envs/prod/areas")
    assert answer.status_code == 200, answer.text
    assert_console_page(answer)
    for area in ("router", "provider", "guardrail", "global_setting"):
        assert f'href="/ui/envs/prod/areas/{area}"' in answer.text
    row = answer.text.split('href="/ui/envs/prod/areas/global_setting"')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d*)</td>', row) == ["1", "1", ""]
    assert "Content guardrails" in answer.text


def test_area_page_lists_entries_with_state(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    why = Provenance(actor="ops", source="cli", correlation_id="c1", reason=HOSTILE)
    store.set(Address("prod", "global_setting", "motd"), {"value": "hi"}, provenance=why)
    store.set(Address("prod", "global_setting", "gone"), {"value": "1"}, provenance=SETUP)
    store.delete(Address("prod", "global_setting", "gone"), provenance=SETUP)
    store.set(Address("prod", "global_setting", "later"), {"value": "1"}, provenance=SETUP)
    store.schedule_change(
        Address("prod", "global_setting", "later"),
        "set",
        {"value": "2"},
        due_at=datetime.now(UTC) + timedelta(hours=1),
        provenance=SETUP,
    )
    sign_in(client, bearer(admin))
    answer = client.get("/ui/envs/prod/areas/global_setting")
    assert answer.status_code == 200, answer.text
    assert_console_page(answer)
    html = answer.text
    assert _rows(html) == ["gone", "later", "motd"]
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)" in html
    assert "deleted" in html.split(">gone<")[1].split("</tr>")[0]
    assert "scheduled change pending" in html.split(">later<")[1].split("</tr>")[0]
    motd = html.split(">motd<")[1].split("</tr>")[0]
    assert "<strong>ops</strong>" in motd and "live" in motd
    assert 'href="/ui/envs/prod/entries/global_setting/new"' in html
    assert 'data-live-env="prod"' in html and 'hx-trigger="live"' in html
    assert 'href="/ui/envs/prod/entries/global_setting/motd"' in html


def test_filter_paging_and_live_fragment(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    for n in range(PAGE_SIZE + 5):
        address = Address("prod", "global_setting", f"k{n:04d}")
        store.set(address, {"value": str(n)}, provenance=SETUP)
    for key in ("x_y", "xay"):
        store.set(Address("prod", "global_setting", key), {"value": "0"}, provenance=SETUP)
    sign_in(client, bearer(admin))
    first = client.get("/ui/envs/prod/areas/global_setting")
    assert len(_rows(first.text)) == PAGE_SIZE and "page 1 of 2" in first.text
    second = client.get("/ui/envs/prod/areas/global_setting?page=2")
    last = [f"k{n:04d}" for n in range(PAGE_SIZE, PAGE_SIZE + 5)]
    assert _rows(second.text) == [*last, "x_y", "xay"]
    beyond = client.get("/ui/envs/prod/areas/global_setting?page=9")
    assert _rows(beyond.text) == _rows(second.text)  # the last page
    assert _rows(client.get("/ui/envs/prod/areas/global_setting?q=K010").text) == [
        f"k{n:04d}" for n in range(100, 105)
    ]
    # _ is literal, not LIKE's any-character
    assert _rows(client.get("/ui/envs/prod/areas/global_setting?q=x_").text) == ["x_y"]
    live = client.get("/ui/envs/prod/areas/global_setting?q=k0001", headers={"HX-Request": "true"})
    assert live.text.lstrip().startswith('<div id="area-entries"') and "<html" not in live.text
    assert _rows(live.text) == ["k0001"]
    assert like_pattern("a%b_c\\") == "%a\\%b\\_c\\\\%"


def test_scopes_limit_areas_and_entries(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    store.set(Address("prod", "global_setting", "motd"), {"value": "hi"}, provenance=SETUP)
    store.set(Address("prod", "router", "default"), {"max_retries": 2}, provenance=SETUP)
    scoped = make_token("writer", scopes=["prod:router"])
    sign_in(client, bearer(scoped))
    listed = client.get("/ui/envs/prod/areas")
    assert listed.status_code == 200
    assert 'href="/ui/envs/prod/areas/router"' in listed.text
    assert "global_setting" not in listed.text
    refused = client.get("/ui/envs/prod/areas/global_setting")
    assert refused.status_code == 403 and "motd" not in refused.text
    assert_console_page(refused)
    assert client.get("/ui/envs/staging/areas").status_code == 403
    router = client.get("/ui/envs/prod/areas/router")
    assert router.status_code == 200 and _rows(router.text) == ["default"]
    assert 'href="/ui/envs/prod/entries/router/default">Edit the entry' in router.text


def test_reader_gets_no_write_controls(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    store.set(Address("prod", "global_setting", "motd"), {"value": "hi"}, provenance=SETUP)
    sign_in(client, bearer(make_token("reader")))
    answer = client.get("/ui/envs/prod/areas/global_setting")
    assert answer.status_code == 200 and _rows(answer.text) == ["motd"]
    assert "/entries/global_setting/new" not in answer.text


def test_bad_parameters_are_a_400_page(client: TestClient, admin: Headers) -> None:
    sign_in(client, bearer(admin))
    for url, status in (
        ("/ui/envs/prod/areas/global_setting?page=0", 400),
        ("/ui/envs/prod/areas/global_setting?page=x", 400),
        ("/ui/envs/prod/areas/global_setting?q=" + "a" * 101, 400),
        ("/ui/envs/bad%20env/areas", 400),
        ("/ui/envs/prod/areas/no_such_area", 404),
        ("/ui/envs/prod/areas/%3Cscript%3E", 404),
    ):
        answer = client.get(url)
        assert answer.status_code == status, (url, answer.text)
        assert_console_page(answer)
        assert "<script>" not in answer.text


def test_hostile_filter_text_is_inert(client: TestClient, admin: Headers) -> None:
    sign_in(client, bearer(admin))
    answer = client.get("/ui/envs/prod/areas/global_setting", params={"q": '"><script>x'})
    assert answer.status_code == 200
    assert "<script>x" not in answer.text and "&#34;&gt;&lt;script&gt;x" in answer.text
