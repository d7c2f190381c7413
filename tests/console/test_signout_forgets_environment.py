"""Signing out drops the environment picker's cookie: whoever signs in next in the same
browser starts on the default environment, not on the one the last user was on."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.console.render import LAST_ENV_COOKIE
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

_PICKED = re.compile(r"<summary>Environment: <strong>(.*?)</strong></summary>")
_JAR = {"domain": "testserver.local", "path": "/ui"}


def picked(client: TestClient) -> str:
    answer = client.get("/ui/")
    assert answer.status_code == 200, answer.text
    found = _PICKED.search(answer.text)
    assert found, answer.text[:2000]
    return unescape(found.group(1))


def test_sign_out_forgets_the_environment_last_visited(
    client: TestClient, store: ConfigStore, admin: Headers, make_token: TokenMaker
) -> None:
    for env in ("prod", "staging"):
        store.set(Address(env, "global_setting", "motd"), {"value": env}, provenance=SETUP)
    csrf = sign_in(client, bearer(admin))
    assert client.get("/ui/envs/staging/areas").status_code == 200
    assert client.cookies.get(LAST_ENV_COOKIE, **_JAR) == "staging"
    assert picked(client) == "staging"
    out = client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    dropped = [c for c in out.headers.get_list("set-cookie") if c.startswith(LAST_ENV_COOKIE)]
    assert len(dropped) == 1
    assert 'cc_console_env="";' in dropped[0] or "cc_console_env=;" in dropped[0]
    assert "max-age=0" in dropped[0].lower() and "path=/ui" in dropped[0].lower()
    assert client.cookies.get(LAST_ENV_COOKIE, **_JAR) is None
    sign_in(client, bearer(make_token("reader")))
    assert picked(client) == "prod"  # the default, not the last user's staging
