"""History and rollback of a deleted entry: the rollback preview says the entry is
restored (its fields are added to an entry that holds no value now, never "same"), and
the history does not call a deletion and the version that undid it "the same stored
value"."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.console.test_history import HISTORY, MOTD, ROLLBACK, motd, rows_of, who
from tests.infrastructure.http.conftest import Headers

__all__ = ["motd"]  # the fixture, used by name


def _note(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(.*?)</p>', html, re.S)
    assert found, f"no #{element_id}"
    return " ".join(unescape(found.group(1)).split())


def test_the_rollback_preview_of_a_deleted_entry_says_it_is_restored(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    sign_in(client, bearer(admin))
    live = client.get(ROLLBACK, params={"to_version": "1"}).text
    assert 'id="rollback-restores"' not in live
    assert rows_of(live)["value"] == ("changed", '"three"', '"one"')
    motd.delete(MOTD, provenance=who("gone"))  # version 4, deleted with "three"
    answer = client.get(ROLLBACK, params={"to_version": "3"})
    assert answer.status_code == 200
    absent = '<span class="muted">(absent)</span>'  # no value now
    assert rows_of(answer.text) == {"value": ("added", absent, '"three"')}
    assert _note(answer.text, "rollback-restores") == (
        "The entry is deleted now (version 4): rolling back restores it (undeletes it) "
        "with the value of version 3."
    )
    assert "After: restored as version 3" in answer.text
    assert "already holds" not in answer.text  # the rollback is offered


def test_the_history_says_what_a_deletion_and_its_undoing_did(
    client: TestClient, admin: Headers, motd: ConfigStore
) -> None:
    motd.delete(MOTD, provenance=who("gone"))  # version 4
    csrf = sign_in(client, bearer(admin))
    form = {"csrf": csrf, "to_version": "3", "expected_version": "4", "reason": "back"}
    assert client.post(ROLLBACK, data=form, follow_redirects=False).status_code == 303
    texts = {
        (left, right): _note(
            client.get(HISTORY, params={"from": left, "to": right}).text, "diff-same"
        )
        for left, right in (("4", "5"), ("5", "4"), ("3", "4"), ("3", "5"), ("4", "4"))
    }
    assert texts == {
        ("4", "5"): "Version 4 deleted the entry; version 5 brought it back (undeleted) "
        "with the value it had before.",
        ("5", "4"): "Version 4 deleted the entry; version 5 brought it back (undeleted) "
        "with the value it had before.",
        ("3", "4"): "Version 4 deleted the entry, which held the value of version 3.",
        ("3", "5"): "Versions 3 and 5 hold the same stored value.",
        ("4", "4"): "Versions 4 and 4 are both deleted, with the same last stored value.",
    }
