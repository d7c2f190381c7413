"""Hostile arguments on the command line: every version, position, time and number is
parsed strictly (exit 2 naming it, never an internal error), and commands that would
change nothing append nothing. Run in-process (``main``) for speed; the same code runs
behind the console script."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infrastructure.cli.main import main
from infrastructure.store import ConfigStore
from tests.conftest import TEST_SECRET_KEY

HUGE = "99999999999999999999"  # beyond a PostgreSQL bigint
NO_UTC = "9999-12-31T23:59:59-14:00"  # exists in its offset, not in UTC
FLAG = "feature_flag/beta"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(
    database_url: str,
    schema: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    """``run("get", "router")`` -> (exit code, stdout, stderr), on this test's schema."""
    for name, value in {
        "CONDUIT_CONFIG_DATABASE_URL": database_url,
        "CONDUIT_CONFIG_DATABASE_SCHEMA": schema,
        "CONDUIT_CONFIG_SECRET_KEY": TEST_SECRET_KEY,
        "CONDUIT_CONFIG_ACTOR": "tester",
        "CONDUIT_CONFIG_HOME": str(tmp_path / "home"),
    }.items():
        monkeypatch.setenv(name, value)

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "internal error" not in err, err
        return code, out, err

    return invoke


@pytest.fixture
def flag(run: Run) -> str:
    """An entry at version 2."""
    assert run("set", FLAG, '{"enabled": true}')[0] == 0
    assert run("set", FLAG, '{"enabled": false}')[0] == 0
    return FLAG


def usage(result: tuple[int, str, str], *mentions: str) -> str:
    """``result`` is exit 2 and its stderr mentions each of ``mentions``."""
    code, _, err = result
    assert code == 2, err
    for mention in mentions:
        assert mention in err, (mention, err)
    return err


@pytest.mark.parametrize("bad", ["²", "٣", "+1", "-1", HUGE, "9" * 5000, NO_UTC, "1x"])
def test_diff_refs_are_strict(run: Run, flag: str, store: ConfigStore, bad: str) -> None:
    before = store.index.head()
    usage(run("diff", flag, bad, "1"), "FROM")
    usage(run("diff", flag, "1", bad), "TO")
    assert store.index.head() == before


def test_diff_version_zero_says_versions_start_at_1(run: Run, flag: str) -> None:
    usage(run("diff", flag, "0", "1"), "FROM", "versions start at 1")


@pytest.mark.parametrize("bad", [HUGE, NO_UTC, "1x", ""])
def test_diff_env_points_are_strict(run: Run, flag: str, bad: str) -> None:
    usage(run("diff-env", bad), "FROM")
    usage(run("diff-env", "0", bad), "TO")


@pytest.mark.parametrize("bad", ["²", "٣", "-1"])
def test_diff_env_points_that_cannot_be_snapshot_names_are_usage_errors(
    run: Run, flag: str, bad: str
) -> None:
    """Not a position, not a time and not a possible snapshot name: malformed (as the
    API's 400), not "no snapshot named ..." (exit 5)."""
    usage(run("diff-env", bad), "FROM")


def test_diff_env_an_unknown_snapshot_is_not_found(run: Run, flag: str) -> None:
    code, _, err = run("diff-env", "nosuchsnapshot")
    assert code == 5 and "snapshot" in err, err


@pytest.mark.parametrize("moment", [NO_UTC, "0001-01-01T00:00:00+14:00", "", "soon"])
def test_times_are_strict_and_in_range(
    run: Run, flag: str, store: ConfigStore, moment: str
) -> None:
    before = store.index.head()
    usage(run("set", FLAG, '{"enabled": true}', "--at", moment), "--at")
    usage(run("get", flag, "--as-of", moment), "--as-of")
    usage(run("export", "--as-of", moment), "--as-of")
    usage(run("rollback", flag, "--to-time", moment), "--to-time")
    usage(run("audit", "--since", moment), "--since")
    usage(run("restore", "--to-time", moment), "--to-time")
    assert store.index.head() == before


def test_an_empty_as_of_is_a_usage_error_not_now(run: Run, flag: str) -> None:
    usage(run("get", flag, "--as-of", ""), "--as-of")
    usage(run("export", "--as-of", ""), "--as-of")


@pytest.mark.parametrize("bad", ["²", "٣", "+1", "1_0", HUGE, "9" * 5000])
def test_number_options_are_strict_and_bounded(
    run: Run, flag: str, store: ConfigStore, bad: str
) -> None:
    before = store.index.head()
    usage(run("get", flag, "--version", bad), "--version")
    usage(run("export", "--position", bad), "--position")
    usage(run("audit", "--before", bad), "--before")
    usage(run("audit", "--min-position", bad), "--min-position")
    usage(run("history", flag, "--limit", bad), "--limit")
    usage(run("rollback", flag, "--to-version", bad), "--to-version")
    usage(run("patch", flag, '{"enabled": true}', "--expected-version", bad), "--expected-version")
    usage(run("restore", "--to-position", bad), "--to-position")
    assert store.index.head() == before


def test_token_expiring_in_the_past_is_refused(run: Run, store: ConfigStore) -> None:
    before = store.index.head()
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    for expires in (past, NO_UTC, "never"):
        create = ("token", "create", "--name", "late", "--role", "reader", "--expires", expires)
        usage(run(*create), "--expires")
    assert store.index.head() == before
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert run("token", "create", "--name", "ok", "--role", "reader", "--expires", later)[0] == 0


def test_rollback_to_the_current_value_appends_nothing(
    run: Run, flag: str, store: ConfigStore
) -> None:
    before = store.index.head()
    code, out, _ = run("rollback", flag, "--to-version", "2")
    assert code == 0 and "unchanged at version 2" in out
    assert store.index.head() == before
    assert run("rollback", flag, "--to-version", "1")[0] == 0
    moved = store.index.head()
    code, out, _ = run("--json", "rollback", flag, "--to-version", "1")  # v3 equals v1 now
    assert code == 0 and '"changed": false' in out and '"version": 3' in out
    assert store.index.head() == moved


@pytest.mark.parametrize("bad", ["nan", "inf", "1e3", "٣", "-1", "601"])
def test_seconds_are_finite_ascii_and_bounded(run: Run, bad: str) -> None:
    usage(run("cluster", "check", "--wait", bad), "--wait")  # nan would wait for ever


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (("diff-env", "\udcff"), "argument 2"),
        (("export", "--snapshot", "\udced\udca0\udc80"), "argument 3 (after --snapshot)"),
        (("audit", "--actor", "a\udcffb"), "argument 3 (after --actor)"),
        (("set", FLAG, '{"description": "\udcff"}'), "argument 3"),
    ],
)
def test_an_argument_that_is_not_utf8_is_a_usage_error(
    run: Run, args: tuple[str, ...], where: str
) -> None:
    # Python keeps undecodable argv bytes as lone surrogates (surrogateescape).
    code, out, err = run(*args)
    assert (code, out) == (2, "")
    assert err == f"error: {where} is not valid UTF-8\n"
    assert run("--json", "history", FLAG)[0] == 5  # nothing was written
