"""``init`` and ``serve`` say where the console is."""

from __future__ import annotations

from infrastructure.cli.tokens import console_address
from tests.cli import conftest as cli_conftest
from tests.cli.conftest import Runner

cli = cli_conftest.cli


def test_init_prints_the_console_address_beside_the_token(cli: Runner) -> None:
    first = cli("init")
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip().splitlines()[-1]
    assert token.startswith("cct_admin.")
    assert "http://127.0.0.1:8080/ui/" in first.stderr
    assert token not in first.stderr


def test_console_address() -> None:
    assert console_address("127.0.0.1", 8080) == "http://127.0.0.1:8080/ui/"
    assert console_address("0.0.0.0", 80) == "http://127.0.0.1:80/ui/"
    assert console_address("::", 8080) == "http://[::1]:8080/ui/"
    assert console_address("config.internal", 9000) == "http://config.internal:9000/ui/"
    assert console_address("127.0.0.1", 0) == "http://127.0.0.1:<port>/ui/"
