"""A real ``conduit-config serve`` subprocess for tests, and a server-sent events parser."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.cli.conftest import clean_env, executable

TOKEN_FILE = re.compile(r"admin token written to (\S+) \(mode 0600")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """One ``serve`` process; its output goes to files (a pipe could fill and block it)."""

    def __init__(
        self, env: dict[str, str], log: Path, port: int, args: tuple[str, ...] = ()
    ) -> None:
        self.port, self.log = port, log
        self.url = f"http://127.0.0.1:{port}"
        with log.open("wb") as err, log.with_suffix(".out").open("wb") as out:
            self.proc = subprocess.Popen(
                [*executable(), "serve", "--port", str(port), *args],
                env=clean_env(**env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    def wait_ready(self) -> None:
        """Poll ``/healthz`` until it answers 200 (fails if the process exits first)."""
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, f"serve exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"no /healthz within 30 s:\n{self.output}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)

    @property
    def output(self) -> str:
        """What the process wrote to stderr so far."""
        return self.log.read_text(errors="replace")

    @property
    def stdout(self) -> str:
        """What the process wrote to stdout so far."""
        return self.log.with_suffix(".out").read_text(errors="replace")

    @property
    def token(self) -> str | None:
        """The first admin token, if this process created it (it writes it to a file
        and says where)."""
        found = TOKEN_FILE.search(self.output)
        return Path(found.group(1)).read_text().strip() if found else None

    def terminate(self, timeout: float = 10) -> int | None:
        """SIGTERM; the return code, or ``None`` when still running after ``timeout``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Make sure the process is gone (SIGTERM, then SIGKILL)."""
        if self.terminate(10) is None:
            self.proc.kill()
            self.proc.wait(10)


def sse_blocks(response: httpx.Response) -> Iterator[dict[str, str]]:
    """The fields of each event block of a text/event-stream; comments are skipped."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
