"""Fixtures of the console tests.

Protocol tests use ``client`` (an in-process TestClient of the whole app) with
:func:`sign_in`. Browser tests use ``console`` (a real ``conduit-config serve`` on this
test's schema, with its first admin token) and ``page`` (a Playwright page of Debian's
Chromium), then :func:`signed_in`; without ``/usr/bin/chromium`` they skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from tests.conftest import TEST_SECRET_KEY
from tests.infrastructure.http.conftest import (  # the in-process app and its tokens
    admin,
    client,
    make_client,
    make_token,
    tokens,
)
from tests.infrastructure.http.server_support import Server, free_port

__all__ = ["admin", "client", "make_client", "make_token", "tokens"]

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = (
    "Chromium not found at /usr/bin/chromium: apt-get install chromium to run the browser tests"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF value of the first form of a page."""
    found = _CSRF.search(html)
    assert found, "no csrf field on the page"
    return found.group(1)


def sign_in(http: TestClient | httpx.Client, token: str) -> str:
    """Sign ``http`` in with ``token`` through the form; returns the session's CSRF token."""
    form = http.get("/ui/login")
    assert form.status_code == 200
    answer = http.post(
        "/ui/login",
        data={"csrf": csrf_of(form.text), "token": token, "next": "/ui/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = http.get("/ui/")
    assert page.status_code == 200
    return csrf_of(page.text)


def bearer(headers: dict[str, str]) -> str:
    """The token of ``Authorization: Bearer`` headers (the ``make_token`` fixture's)."""
    return headers["Authorization"].removeprefix("Bearer ")


@dataclass
class Console:
    """A running ``serve``: its address, its first admin token, and an API client."""

    server: Server
    admin_token: str

    @property
    def url(self) -> str:
        return self.server.url

    def api(self) -> httpx.Client:
        """A client of the HTTP API with the admin token."""
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, trust_env=False)

    def token(self, name: str, role: str, scopes: list[str] | None = None) -> str:
        """A new token, created through the API."""
        with self.api() as api:
            body: dict[str, Any] = {"name": name, "role": role, "scopes": scopes or []}
            answer = api.post("/v1/tokens", json=body)
            assert answer.status_code == 201, answer.text
            token: str = answer.json()["token"]
            return token


@pytest.fixture
def console(database_url: str, schema: str, tmp_path: Path) -> Iterator[Console]:
    """``conduit-config serve`` on this test's schema, stopped at teardown."""
    env = {
        "CONDUIT_CONFIG_DATABASE_URL": database_url,
        "CONDUIT_CONFIG_DATABASE_SCHEMA": schema,
        "CONDUIT_CONFIG_SECRET_KEY": TEST_SECRET_KEY,
        "CONDUIT_CONFIG_ACTOR": "tester",
        "CONDUIT_CONFIG_HOME": str(tmp_path / "home"),
    }
    server = Server(env, tmp_path / "serve.log", free_port())
    try:
        server.wait_ready()
        token = server.token
        assert token, server.output
        yield Console(server, token)
    finally:
        server.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (headless); skips when it is missing.

    One per test module, not per session: Playwright's sync API keeps an asyncio loop
    running in the main thread while it is open, and later tests call ``asyncio.run``."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the console's address, 1280 px wide."""
    context = browser.new_context(
        base_url=console.url, viewport={"width": 1280, "height": 900}, java_script_enabled=True
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def signed_in(page: Any, token: str) -> Any:
    """Sign ``page`` in with ``token`` through the form; returns the page, on the dashboard."""
    page.goto("/ui/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/")
    return page
