"""Scheduled changes in the console: pending and finished ones listed (values redacted,
scoped as the API's list), cancelled with a reason by writers only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore
from infrastructure.store.views import ScheduledView
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

PLAIN = "sk-console-scheduled-secret-77"
HOSTILE = '<script>alert("x")</script> \u202e & "q"'


def _schedule(
    store: ConfigStore, area: str, key: str, value: dict[str, Any] | None, **extra: Any
) -> ScheduledView:
    return store.schedule_change(
        Address("prod", area, key),
        "set" if value is not None else "delete",
        value,
        due_at=datetime.now(UTC) + timedelta(hours=1),
        provenance=extra.pop("provenance", SETUP),
        **extra,
    )


def test_list_pending_and_done_redacted(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    why = Provenance(actor="planner", source="cli", correlation_id="c", reason=HOSTILE)
    secret = {"provider_type": "openai", "keys": [{"name": "k", "api_key": PLAIN}]}
    first = _schedule(store, "provider", "openai", secret, provenance=why)
    store.set(Address("prod", "global_setting", "motd"), {"value": "a"}, provenance=SETUP)
    second = _schedule(store, "global_setting", "motd", None)
    store.cancel_scheduled(second.id, provenance=SETUP)
    sign_in(client, bearer(admin))
    answer = client.get("/ui/envs/prod/scheduled")
    assert answer.status_code == 200, answer.text
    assert_console_page(answer)
    html = answer.text
    assert PLAIN not in html and "********" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    pending, done = html.split('id="done-title"')
    assert first.id in pending and "<strong><bdi>planner</bdi></strong>" in pending
    assert 'href="/ui/envs/prod/entries/provider/openai"' in pending
    assert "Cancel this change" in pending
    assert "cancelled" in done and "global_setting/motd" in done and "Cancel this" not in done


def test_cancel_with_a_reason(client: TestClient, store: ConfigStore, admin: Headers) -> None:
    view = _schedule(store, "router", "default", {"max_retries": 4})
    csrf = sign_in(client, bearer(admin))
    url = f"/ui/envs/prod/scheduled/{view.id}/cancel"
    done = client.post(url, data={"csrf": csrf, "reason": HOSTILE}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/ui/envs/prod/scheduled?cancelled={view.id}"
    after = store.scheduled(view.id)
    assert after.status == "cancelled"
    assert after.result == f"cancelled by root-admin: {HOSTILE}"
    listed = client.get(done.headers["location"]).text
    assert f'Scheduled change <span class="mono">{view.id}</span> cancelled' in listed
    assert "<script>alert" not in listed
    again = client.post(url, data={"csrf": csrf, "reason": "twice"})
    assert again.status_code == 409
    assert_console_page(again)
    assert client.post(url, data={"reason": "no csrf"}).status_code == 403
    missing = client.post("/ui/envs/prod/scheduled/sch-000000000000/cancel", data={"csrf": csrf})
    assert missing.status_code == 404
    other_env = client.post(f"/ui/envs/staging/scheduled/{view.id}/cancel", data={"csrf": csrf})
    assert other_env.status_code == 404
    hostile = client.post("/ui/envs/prod/scheduled/%3Cscript%3E/cancel", data={"csrf": csrf})
    assert hostile.status_code in (400, 404) and "<script>" not in hostile.text


def test_reader_sees_no_controls_and_is_refused(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    view = _schedule(store, "router", "default", {"max_retries": 4})
    csrf = sign_in(client, bearer(make_token("reader")))
    listed = client.get("/ui/envs/prod/scheduled")
    assert listed.status_code == 200 and view.id in listed.text
    assert "Cancel" not in listed.text
    refused = client.post(f"/ui/envs/prod/scheduled/{view.id}/cancel", data={"csrf": csrf})
    assert refused.status_code == 403
    assert_console_page(refused)
    assert store.scheduled(view.id).status == "pending"


def test_scopes_limit_the_list_and_cancel(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    router = _schedule(store, "router", "default", {"max_retries": 4})
    store.set(Address("prod", "global_setting", "motd"), {"value": "a"}, provenance=SETUP)
    other = _schedule(store, "global_setting", "motd", {"value": "b"})
    csrf = sign_in(client, bearer(make_token("writer", scopes=["prod:router"])))
    listed = client.get("/ui/envs/prod/scheduled").text
    assert router.id in listed and other.id not in listed and "global_setting" not in listed
    refused = client.post(f"/ui/envs/prod/scheduled/{other.id}/cancel", data={"csrf": csrf})
    assert refused.status_code == 404  # as for an unknown id: other areas' ids stay hidden
    assert store.scheduled(other.id).status == "pending"
    assert client.get("/ui/envs/staging/scheduled").status_code == 403
    ids = re.findall(r'id="scheduled-([^"]+)"', listed)
    assert ids == [router.id]


def test_bad_parameters_are_a_400_page(client: TestClient, admin: Headers) -> None:
    csrf = sign_in(client, bearer(admin))
    assert client.get("/ui/envs/bad%20env/scheduled").status_code == 400
    long = client.post(
        "/ui/envs/prod/scheduled/sch-000000000000/cancel", data={"csrf": csrf, "reason": "r" * 2001}
    )
    assert long.status_code == 400 and "at most 2000" in long.text


def _links(html: str) -> list[tuple[str, str]]:
    section = html.split('<section class="card narrow">', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', section)


def test_a_refused_cancel_links_back_to_the_scheduled_list(
    client: TestClient, store: ConfigStore, admin: Headers, make_token: TokenMaker
) -> None:
    view = _schedule(store, "router", "default", {"max_retries": 4})
    store.cancel_scheduled(view.id, provenance=SETUP)
    csrf = sign_in(client, bearer(admin))
    back = [
        ("/ui/envs/prod/scheduled", "Back to the scheduled changes of prod"),
        ("/ui/", "Back to the dashboard"),
    ]
    again = client.post(f"/ui/envs/prod/scheduled/{view.id}/cancel", data={"csrf": csrf})
    assert again.status_code == 409
    assert_console_page(again)
    assert _links(again.text) == back
    missing = client.post("/ui/envs/prod/scheduled/sch-000000000000/cancel", data={"csrf": csrf})
    assert (missing.status_code, _links(missing.text)) == (404, back)
    pending = _schedule(store, "router", "default", {"max_retries": 5})
    csrf = sign_in(client, bearer(make_token("reader")))
    refused = client.post(f"/ui/envs/prod/scheduled/{pending.id}/cancel", data={"csrf": csrf})
    assert (refused.status_code, _links(refused.text)) == (403, back)
    assert store.scheduled(pending.id).status == "pending"
