"""The audit key's part of the chain: keyed links, the upgrade from plain links, writers
without the key refused, and rewrites a forger without the key can make found."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from domain.errors import SettingsError
from infrastructure.crypto import generate_key
from infrastructure.errors import AuditKeyError
from infrastructure.store import ConfigStore
from infrastructure.store.chain import check_chain
from tests.chain_support import (
    KEY_A,
    KEY_B,
    Tamper,
    key_bytes,
    positions,
    relink_plain,
    write_flags,
)
from tests.conftest import StoreOpener, dump_schema


@pytest.fixture
def tamper(db: psycopg.Connection[Any], schema: str) -> Tamper:
    return Tamper(db, schema)


@pytest.fixture
def keyed_store(open_test_store: StoreOpener) -> Iterator[ConfigStore]:
    with open_test_store(audit_key=KEY_A) as opened:
        yield opened


def test_a_consistent_plain_rewrite_is_found_with_the_audit_key(
    keyed_store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(keyed_store, 5)
    assert check_chain(keyed_store, audit_key=key_bytes(KEY_A)).findings == []
    tamper.flip_state_byte(written[2])
    relink_plain(tamper)
    assert check_chain(keyed_store).findings == []  # without the key it looks fine
    report = check_chain(keyed_store, audit_key=key_bytes(KEY_A))
    assert positions(report) == [tamper.chain_start()]
    assert "no link is keyed" in report.findings[0].problem


def test_a_plain_rewrite_of_a_keyed_tail_is_a_downgrade(
    keyed_store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(keyed_store, 5)
    tamper.flip_state_byte(written[3])
    relink_plain(tamper, start=written[3])
    for key in (key_bytes(KEY_A), None):
        report = check_chain(keyed_store, audit_key=key)
        assert positions(report, "plain link after keyed links") == [written[3]]
    assert len(check_chain(keyed_store, audit_key=key_bytes(KEY_A)).findings) == 1


def test_keyed_links_need_the_audit_key_to_be_checked(
    keyed_store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(keyed_store, 4)
    report = check_chain(keyed_store, audit_key=key_bytes(KEY_A))
    assert (report.findings, report.keyed_from) == ([], written[0])
    for key in (None, key_bytes(KEY_B)):
        report = check_chain(keyed_store, audit_key=key)
        assert positions(report) == [written[0]]  # once, not per link
        assert "cannot check keyed links without CONDUIT_CONFIG_AUDIT_KEY" in (
            report.findings[0].problem
        )
    tamper.flip_state_byte(written[2])
    assert positions(check_chain(keyed_store, audit_key=key_bytes(KEY_A))) == [written[2]]


def test_plain_links_become_keyed_and_a_writer_without_the_key_is_refused(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as plain:
        first = write_flags(plain, 2)
    with open_test_store(audit_key=KEY_A) as keyed:
        upgraded = write_flags(keyed, 2, prefix="keyed")
        report = check_chain(keyed, audit_key=key_bytes(KEY_A))
        assert (report.findings, report.start, report.keyed_from) == ([], first[0], upgraded[0])
    count = f"SELECT count(*) FROM {schema}.conduitconfig_events"
    before = db.execute(count).fetchone()
    for audit_key in (None, KEY_B):
        with open_test_store(audit_key=audit_key) as other:
            with pytest.raises(AuditKeyError, match="CONDUIT_CONFIG_AUDIT_KEY") as caught:
                write_flags(other, 1, prefix="refused")
            assert isinstance(caught.value, SettingsError)
    assert db.execute(count).fetchone() == before


def test_a_bad_audit_key_setting_names_the_variable(open_test_store: StoreOpener) -> None:
    for bad in ("not base64!", generate_key()[:20]):
        with (
            pytest.raises(SettingsError, match="CONDUIT_CONFIG_AUDIT_KEY"),
            open_test_store(audit_key=bad),
        ):
            pass


def test_the_audit_key_is_never_stored(
    keyed_store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    write_flags(keyed_store, 2)
    dump = dump_schema(db, schema)
    assert KEY_A not in dump and key_bytes(KEY_A).hex() not in dump


def test_concurrent_group_commits_keep_one_valid_chain(keyed_store: ConfigStore) -> None:
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            write_flags(keyed_store, 15, prefix=f"t{thread}")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = check_chain(keyed_store, audit_key=key_bytes(KEY_A))
    assert (report.findings, report.links, report.unchained) == ([], 8 * 15, 0)
