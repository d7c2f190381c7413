"""``get --effective`` (environment-variable overrides with each field's source) and
``watch`` (changes as they happen), through the real executable."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore
from tests.cli.conftest import Runner, clean_env, executable
from tests.cli.test_cli import fails, ok
from tests.conftest import TEST_SECRET_KEY

PLAINTEXT = "sk-live-PLAINTEXT-77e1"
Put = Callable[..., int]


@pytest.fixture
def put(store: ConfigStore) -> Put:
    """``put("set", "router", "default", {...})`` in environment ``default``; the position."""

    def run(command: str, area: str, key: str, *args: Any, env: str = "default") -> int:
        who = Provenance(actor="writer", correlation_id=str(uuid.uuid4()))
        result = getattr(store, command)(Address(env, area, key), *args, provenance=who)
        return int(result.position)

    return run


# -- get --effective ---------------------------------------------------------------------


def test_get_effective_table(cli: Runner) -> None:
    ok(cli("set", "router", '{"max_retries": 5}'))
    out = ok(cli("get", "router", "--effective", CONDUIT__ROUTER__DEFAULT_STRATEGY="random"))
    rows = [line.split() for line in out.splitlines()]
    assert rows == [
        ["FIELD", "VALUE", "SOURCE"],
        ["default_strategy", '"random"', "env"],
        ["max_retries", "5", "store"],
        ["retry_base_delay_ms", "500", "default"],
        ["retry_max_delay_ms", "10000", "default"],
        ["fallbacks_enabled", "false", "default"],
    ]


def test_get_effective_json(cli: Runner) -> None:
    ok(cli("set", "router", '{"max_retries": 5, "fallbacks_enabled": true}'))
    got = ok(
        cli(
            "--json",
            "get",
            "router",
            "--effective",
            CONDUIT__ROUTER__MAX_RETRIES="8",
            CONDUIT__ROUTER__DEFAULT_STRATEGY='"leastcost"',
        )
    )
    assert got == {
        "value": {
            "default_strategy": "leastcost",
            "max_retries": 8,
            "retry_base_delay_ms": 500,
            "retry_max_delay_ms": 10000,
            "fallbacks_enabled": True,
        },
        "sources": {
            "default_strategy": "env",
            "max_retries": "env",
            "retry_base_delay_ms": "default",
            "retry_max_delay_ms": "default",
            "fallbacks_enabled": "store",
        },
    }
    # without overrides: what the store says
    plain = ok(cli("get", "router", "--effective", "--json"))
    assert plain["value"]["max_retries"] == 5
    assert "env" not in plain["sources"].values()


def test_get_effective_nested_and_keyed(cli: Runner) -> None:
    ok(cli("set", "cache/Embeddings", '{"max_entries": 50}'))
    got = ok(
        cli(
            "--json",
            "get",
            "cache/Embeddings",
            "--effective",
            CONDUIT__CACHE__EMBEDDINGS__ENABLED="false",
        )
    )
    assert got["value"]["enabled"] is False
    assert got["value"]["max_entries"] == 50
    assert (got["sources"]["enabled"], got["sources"]["max_entries"]) == ("env", "store")
    http = ok(cli("--json", "get", "http", "--effective", CONDUIT__HTTP__RETRY__MAX_RETRIES="1"))
    assert http["value"]["retry"] == {"max_retries": 1, "initial_delay_s": 1.0, "max_delay_s": 30.0}
    assert http["sources"] == {
        "retry": "default",
        "timeout_seconds": "default",
        "retry.max_retries": "env",
    }
    table = ok(cli("get", "http", "--effective", CONDUIT__HTTP__RETRY__MAX_RETRIES="1"))
    assert ["retry.max_retries", "1", "env"] in [line.split() for line in table.splitlines()]


def test_get_effective_in_another_environment(cli: Runner) -> None:
    ok(cli("--env", "prod", "set", "router", '{"max_retries": 2}'))
    got = ok(cli("--env", "prod", "--json", "get", "router", "--effective"))
    assert got["value"]["max_retries"] == 2
    assert ok(cli("--json", "get", "router", "--effective"))["value"]["max_retries"] == 3


def test_get_effective_redacts_secrets(cli: Runner) -> None:
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": PLAINTEXT}]}
    ok(cli("set", "provider/openai", json.dumps(value)))
    proc = cli(
        "--json",
        "get",
        "provider/openai",
        "--effective",
        CONDUIT__PROVIDER__OPENAI__ENABLED="false",
    )
    got = ok(proc)
    assert PLAINTEXT not in proc.stdout
    assert got["value"]["keys"][0]["api_key"] == "********"
    assert got["value"]["enabled"] is False
    assert got["sources"]["keys"] == "store"


@pytest.mark.parametrize(
    ("variable", "text", "fragment"),
    [
        ("CONDUIT__ROUTER__MAX_RETRIES", "99", "max_retries"),
        ("CONDUIT__ROUTER__NOPE", "1", "router has no field 'nope'"),
        ("CONDUIT__NOPE__FIELD", "1", "no area 'nope'"),
    ],
)
def test_get_effective_with_a_bad_override_fails_naming_it(
    cli: Runner, variable: str, text: str, fragment: str
) -> None:
    proc = cli("get", "router", "--effective", **{variable: text})
    stderr = fails(proc, 1)
    assert variable in stderr
    assert fragment in stderr
    assert stderr.startswith("error: ")
    assert proc.stdout == ""


def test_get_effective_refuses_other_read_options(cli: Runner) -> None:
    stderr = fails(cli("get", "router", "--effective", "--version", "1"), 2)
    assert "--effective shows the current value only" in stderr


@pytest.mark.parametrize("address", ["cache/nope", "provider/nope", "cache/gone"])
def test_get_effective_of_a_missing_entry_is_not_found(cli: Runner, address: str) -> None:
    ok(cli("set", "cache/gone", "{}"))
    ok(cli("delete", "cache/gone"))
    fails(cli("get", address), 5)
    fails(cli("get", address, "--effective"), 5)


# -- watch -----------------------------------------------------------------------------------


class Watch:
    """``conduit-config watch ...`` running in the background."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*executable(), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        # a watchdog: never hang the test run
        self._timer = threading.Timer(60, self.proc.kill)
        self._timer.start()
        assert self.proc.stderr is not None
        self.banner = self.proc.stderr.readline()  # printed once it is following

    def finish(self, timeout: float = 30) -> tuple[int, list[str], str]:
        out, err = self.proc.communicate(timeout=timeout)
        self._timer.cancel()
        return self.proc.returncode, out.splitlines(), err

    def stop(self) -> None:
        self._timer.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def watch(database_url: str, schema: str, tmp_path: Path) -> Iterator[Callable[..., Watch]]:
    started: list[Watch] = []

    def start(*args: str, **extra: str) -> Watch:
        env = clean_env(
            CONDUIT_CONFIG_DATABASE_URL=database_url,
            CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
            CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
            CONDUIT_CONFIG_HOME=str(tmp_path / "home"),
            **extra,
        )
        running = Watch(env, tmp_path, "watch", *args)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def test_watch_json_count(watch: Callable[..., Watch], put: Put, store: ConfigStore) -> None:
    put("set", "router", "default", {"max_retries": 1})  # before: not shown
    running = watch("--count", "2", "--json")
    assert running.banner.startswith("watching default from position 1"), running.banner
    first = put("set", "router", "default", {"max_retries": 4})
    put("set", "router", "default", {"max_retries": 9}, env="prod")  # another environment
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": PLAINTEXT}]}
    second = put("set", "provider", "openai", value)
    put("set", "cache", "a", {})  # after the count: not shown
    code, lines, err = running.finish()
    assert code == 0, err
    assert "Traceback" not in err
    changes = [json.loads(line) for line in lines]
    assert changes == [
        {
            "position": first,
            "area": "router",
            "key": "default",
            "version": 2,
            "event": "replaced",
            "changes": [{"op": "replace", "path": "/max_retries", "value": 4}],
        },
        {
            "position": second,
            "area": "provider",
            "key": "openai",
            "version": 1,
            "event": "created",
            "changes": changes[1]["changes"],
        },
    ]
    assert PLAINTEXT not in "\n".join(lines)
    added = {op["path"]: op.get("value") for op in changes[1]["changes"]}
    assert added["/provider_type"] == "openai"
    assert added["/keys"][0]["api_key"] == "********"


def test_watch_area_and_key_filter_text(watch: Callable[..., Watch], put: Put) -> None:
    running = watch("cache", "--key", "b", "--count", "2")
    put("set", "cache", "a", {})
    b1 = put("set", "cache", "b", {"max_entries": 5})
    put("set", "router", "default", {"max_retries": 2})
    put("delete", "cache", "a")
    b2 = put("delete", "cache", "b")
    code, lines, err = running.finish()
    assert code == 0, err
    assert [line.split()[:4] for line in lines] == [
        [str(b1), "cache/b", "v1", "created"],
        [str(b2), "cache/b", "v2", "deleted"],
    ]
    assert "/max_entries=5" in lines[0]
    assert "-/max_entries" in lines[1]


def test_watch_text_redacts_secrets(watch: Callable[..., Watch], put: Put) -> None:
    running = watch("provider", "--count", "2")
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": PLAINTEXT}]}
    put("set", "provider", "openai", value)
    value["keys"][0]["api_key"] = PLAINTEXT + "-rotated"  # type: ignore[index]
    put("set", "provider", "openai", value)
    code, lines, err = running.finish()
    assert code == 0, err
    assert len(lines) == 2
    assert PLAINTEXT[:12] not in "\n".join(lines)
    assert '"api_key":"********"' in lines[0]
    assert lines[1].split()[:4][1:] == ["provider/openai", "v2", "replaced"]


def test_watch_stops_on_sigterm(watch: Callable[..., Watch], put: Put) -> None:
    running = watch("--json")
    position = put("set", "router", "default", {"max_retries": 2})
    assert running.proc.stdout is not None
    line = running.proc.stdout.readline()
    assert json.loads(line)["position"] == position
    running.proc.send_signal(signal.SIGTERM)
    code, lines, err = running.finish()
    assert code == 0, err
    assert lines == []
    assert "Traceback" not in err


def test_watch_with_a_bad_override_fails_naming_it(watch: Callable[..., Watch], put: Put) -> None:
    running = watch("--json", CONDUIT__ROUTER__MAX_RETRIES="many")
    code, lines, err = running.finish()
    assert code == 1
    assert lines == []
    assert "CONDUIT__ROUTER__MAX_RETRIES" in running.banner + err
    assert "Traceback" not in running.banner + err
