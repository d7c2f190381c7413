"""The header's environment picker: the page's own environment (its URL), else the one
the user was last on, else ``prod`` or the default environment when the user sees them,
else the first environment the user sees; never one outside the token's scopes, whatever
its cookie says."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from domain.address import DEFAULT_ENVIRONMENT, Address
from infrastructure.console.render import LAST_ENV_COOKIE
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.infrastructure.http.conftest import SETUP, ClientMaker, Headers, TokenMaker

_PICKED = re.compile(r"<summary>Environment: <strong>(.*?)</strong></summary>")
_JAR = {"domain": "testserver.local", "path": "/ui"}  # where the console's cookies are kept
_AREAS_LINK = re.compile(r'<a href="/ui/envs/([^/"]+)/areas"(?: aria-current="page")?>Areas</a>')


def picked(html: str) -> str:
    """The picker's environment, checked against the header's Areas link."""
    found, link = _PICKED.search(html), _AREAS_LINK.search(html)
    assert found and link, html[:2000]
    assert unescape(link.group(1)) == unescape(found.group(1))
    assert f'href="/ui/audit?env={link.group(1)}"' in html
    return unescape(found.group(1))


def _dashboard(client: TestClient) -> str:
    answer = client.get("/ui/")
    assert answer.status_code == 200, answer.text
    return picked(answer.text)


def _seed(store: ConfigStore, *envs: str) -> None:
    for env in envs:
        store.set(Address(env, "global_setting", "motd"), {"value": env}, provenance=SETUP)


def test_prod_is_the_default_before_any_environment_page(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    _seed(store, "alpha", DEFAULT_ENVIRONMENT, "prod", "staging")
    sign_in(client, bearer(admin))
    assert _dashboard(client) == "prod"  # not alpha, the first by name
    assert picked(client.get("/ui/diagnostics").text) == "prod"


def test_the_environment_last_visited_is_remembered(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    _seed(store, "alpha", "prod", "staging")
    sign_in(client, bearer(admin))
    visit = client.get("/ui/envs/staging/areas")
    assert picked(visit.text) == "staging"
    cookie = visit.headers["set-cookie"].lower()
    assert cookie.startswith(f"{LAST_ENV_COOKIE}=staging;")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
    assert _dashboard(client) == "staging"
    assert "set-cookie" not in client.get("/ui/envs/staging/areas").headers  # unchanged
    assert picked(client.get("/ui/audit?env=alpha").text) == "alpha"  # the URL's first
    assert _dashboard(client) == "staging"  # an audit filter is not a visit
    assert picked(client.get("/ui/envs/alpha/compare").text) == "alpha"
    assert _dashboard(client) == "alpha"


def test_a_scoped_token_defaults_to_what_it_sees(
    make_client: ClientMaker, make_token: TokenMaker, store: ConfigStore
) -> None:
    _seed(store, "alpha", DEFAULT_ENVIRONMENT, "prod", "staging")
    no_prod = make_client()
    sign_in(no_prod, bearer(make_token("reader", scopes=["staging", "default:router"])))
    assert _dashboard(no_prod) == DEFAULT_ENVIRONMENT
    scoped = make_client()
    sign_in(scoped, bearer(make_token("reader", scopes=["staging:global_setting"])))
    assert _dashboard(scoped) == "staging"
    assert scoped.get("/ui/envs/prod/areas").status_code == 403
    assert _dashboard(scoped) == "staging"  # a refused page is not remembered
    html = scoped.get("/ui/").text
    assert "prod" not in html and "alpha" not in html


def test_a_cookie_naming_an_environment_outside_the_scopes_is_ignored(
    make_client: ClientMaker, make_token: TokenMaker, store: ConfigStore
) -> None:
    _seed(store, "alpha", "prod", "staging")
    scoped = make_client()
    sign_in(scoped, bearer(make_token("reader", scopes=["staging", "alpha:global_setting"])))
    for forged in ("prod", "prod%3Cx", "<script>", "%00"):
        scoped.cookies.set(LAST_ENV_COOKIE, forged, **_JAR)
        html = scoped.get("/ui/").text
        assert picked(html) == "alpha"
        assert "prod" not in html and "<script>" not in html
    scoped.cookies.set(LAST_ENV_COOKIE, "staging", **_JAR)
    assert _dashboard(scoped) == "staging"
    scoped.get("/ui/envs/alpha/areas")
    assert scoped.cookies.get(LAST_ENV_COOKIE, **_JAR) == "alpha"
