"""User text that sits inline in a sentence (actors, reasons, sources) is isolated in a
<bdi>, so a right-to-left override (U+202E) in it cannot visually reverse the text that
follows: the editor's conflict and last change, the snapshot delete page, the rollback
conflict, the history and the scheduled list; console.css isolates quoted, code, strong
(actors) and monospaced text on every other page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

import infrastructure.console
from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.infrastructure.http.conftest import SETUP, Headers

ACTOR = "mallory\u202eevil-actor"
REASON = "\u202ereversed reason"
SOURCE = "\u202ecli"
FLAG = Address("prod", "feature_flag", "f1")
EDITOR = "/ui/envs/prod/entries/feature_flag/f1"
HOSTILE = Provenance(actor=ACTOR, reason=REASON, source=SOURCE, correlation_id="rlo")


def _isolated(html: str, text: str) -> int:
    """How often ``text`` is on the page, after checking each time is a whole <bdi>."""
    found = html.count(text)
    assert found == html.count(f"<bdi>{text}</bdi>"), f"{text!r} not isolated"
    return found


def test_the_conflict_and_the_last_change_isolate_actor_and_reason(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(FLAG, {}, provenance=SETUP)
    csrf = sign_in(client, bearer(admin))
    store.set(FLAG, {"description": "theirs"}, provenance=HOSTILE)  # after the page loaded
    form = {"csrf": csrf, "version": "1", "mode": "form", "description": "mine"}
    conflict = client.post(EDITOR + "/save", data=form)
    assert conflict.status_code == 409
    sentence = re.search(r'<section [^>]*id="conflict">.*?</p>', conflict.text, re.S)
    assert sentence is not None
    assert f"by <strong><bdi>{ACTOR}</bdi></strong>" in sentence.group(0)
    assert f": <q><bdi>{REASON}</bdi></q>. Nothing was overwritten." in sentence.group(0)
    page = client.get(EDITOR).text
    assert (_isolated(page, ACTOR), _isolated(page, REASON), _isolated(page, SOURCE)) == (1, 1, 1)


def test_the_snapshot_delete_page_isolates_who_took_it_and_why(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(FLAG, {}, provenance=SETUP)
    store.create_snapshot("prod", "nightly", actor=ACTOR, reason=REASON)
    sign_in(client, bearer(admin))
    html = client.get("/ui/envs/prod/snapshots/nightly/delete").text
    assert f'taken by <bdi>{ACTOR}</bdi> (<q class="reason"><bdi>{REASON}</bdi></q>).' in html
    assert (_isolated(html, ACTOR), _isolated(html, REASON)) == (1, 1)


def test_history_rollback_and_scheduled_isolate_user_text(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(FLAG, {}, provenance=SETUP)
    store.set(FLAG, {"description": "two"}, provenance=HOSTILE)
    due = datetime.now(UTC) + timedelta(hours=1)
    store.schedule_change(FLAG, "set", {}, due_at=due, provenance=HOSTILE)
    csrf = sign_in(client, bearer(admin))
    history = client.get(EDITOR + "/history").text
    assert (_isolated(history, ACTOR), _isolated(history, REASON)) == (1, 1)
    stale = {"csrf": csrf, "to_version": "1", "expected_version": "1", "reason": "undo"}
    refused = client.post(EDITOR + "/rollback", data=stale)
    assert refused.status_code == 409
    assert f"Last changed by <strong><bdi>{ACTOR}</bdi></strong>." in refused.text
    scheduled = client.get("/ui/envs/prod/scheduled").text
    assert (_isolated(scheduled, ACTOR), _isolated(scheduled, REASON)) == (1, 1)


def test_the_stylesheet_isolates_quoted_code_strong_and_monospaced_text() -> None:
    css = Path(infrastructure.console.__file__).parent / "static" / "console.css"
    rules = dict(
        re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", css.read_text(), flags=re.S))
    )
    isolating = {
        selector.strip()
        for selectors, body in rules.items()
        if "unicode-bidi: isolate" in body
        for selector in selectors.split(",")
    }
    assert {"bdi", "q", "code", "strong", ".mono"} <= isolating
