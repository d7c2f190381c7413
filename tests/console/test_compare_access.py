"""The compare page limits scoped tokens exactly as the HTTP API limits the same reads,
against a real ``conduit-config serve`` over HTTP: comparing whole environments (at two
points, or one against another) needs the reader role on every area of each, as
``GET /v1/envs/{env}/diff`` and the source of ``promote`` do; two versions of an entry
need the reader role on its area, as ``GET .../diff`` of an entry. A refusal shows
nothing of what the token may not read: no area, key, value or environment name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.console.conftest import Console, sign_in

COMPARE = "/ui/envs/{env}/compare"
#: Names and values only out-of-scope tokens must never see.
HIDDEN_ROUTER = ("router", "max_retries")


def _seed(console: Console) -> None:
    with console.api() as api:
        for env in ("prod", "staging"):
            for key, value in (("motd", f"{env} text"), (f"only_{env}", "x")):
                path = f"/v1/envs/{env}/entries/global_setting/{key}"
                assert api.put(path, json={"value": value}).status_code in (200, 201)
            retries = {"prod": 1, "staging": 4}[env]
            path = f"/v1/envs/{env}/entries/router/default"
            assert api.put(path, json={"max_retries": retries}).status_code in (200, 201)
        secret = "/v1/envs/secretenv/entries/global_setting/hidden_key"
        assert api.put(secret, json={"value": "hidden value"}).status_code in (200, 201)


@contextmanager
def _signed_in(console: Console, scopes: list[str]) -> Iterator[tuple[httpx.Client, str]]:
    """A console client and an API token for the same scoped reader."""
    token = console.token(f"reader-{len(scopes)}-{abs(hash(tuple(scopes)))}", "reader", scopes)
    with httpx.Client(base_url=console.url, timeout=10, trust_env=False) as http:
        sign_in(http, token)
        yield http, token


def _api(console: Console, token: str, path: str, **params: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=console.url, timeout=10, trust_env=False) as api:
        return api.get(path, params=params, headers=headers).status_code


def _main(html: str) -> str:
    return html.split("<main", 1)[1] if "<main" in html else html


def test_area_scoped_readers_get_what_the_api_gives(console: Console) -> None:
    _seed(console)
    scopes = ["prod:global_setting", "staging:global_setting"]
    with _signed_in(console, scopes) as (http, token):
        assert _api(console, token, "/v1/envs/prod/diff", **{"from": "0"}) == 403
        points = http.get(COMPARE.format(env="prod"), params={"mode": "points", "from": "0"})
        assert points.status_code == 403
        envs = http.get(COMPARE.format(env="prod"), params={"mode": "envs", "source": "staging"})
        assert envs.status_code == 403
        for answer in (points, envs):
            assert not any(name in answer.text for name in HIDDEN_ROUTER)
            assert "only_staging" not in answer.text and "only_prod" not in answer.text
        form = http.get(COMPARE.format(env="prod"), params={"mode": "points"})
        assert form.status_code == 200 and 'id="compare-whole-refused"' in form.text
        assert 'name="from"' not in form.text
        assert not any(name in _main(form.text) for name in HIDDEN_ROUTER)
        entry = {"mode": "versions", "area": "global_setting", "key": "motd"}
        assert http.get(COMPARE.format(env="prod"), params=entry).status_code == 200
        assert _api(console, token, "/v1/envs/prod/entries/router/default/diff",
                    **{"from": "1", "to": "1"}) == 403  # fmt: skip
        router = {"mode": "versions", "area": "router", "key": "default"}
        refused = http.get(COMPARE.format(env="prod"), params=router)
        assert refused.status_code == 403 and "max_retries" not in refused.text


def test_a_reader_of_one_environment_learns_nothing_of_another(console: Console) -> None:
    _seed(console)
    with _signed_in(console, ["prod"]) as (http, token):
        assert _api(console, token, "/v1/envs/staging") == 403
        assert _api(console, token, "/v1/envs/secretenv/diff", **{"from": "0"}) == 403
        page = http.get(COMPARE.format(env="prod"))
        assert page.status_code == 200
        assert "staging" not in page.text and "secretenv" not in page.text
        for source in ("staging", "secretenv", "no-such-env"):  # existing or not: the same
            answer = http.get(COMPARE.format(env="prod"), params={"source": source})
            assert answer.status_code == 403, source
            assert "staging text" not in answer.text and "hidden_key" not in answer.text
            assert "only_staging" not in answer.text
        for env in ("staging", "secretenv"):
            for mode in ("envs", "points", "versions"):
                answer = http.get(COMPARE.format(env=env), params={"mode": mode, "from": "0"})
                assert answer.status_code == 403
                assert "hidden_key" not in answer.text and "staging text" not in answer.text
        points = http.get(COMPARE.format(env="prod"), params={"mode": "points", "from": "0"})
        assert points.status_code == 200
        assert "only_prod" in points.text and "only_staging" not in points.text


def test_readers_of_both_environments_compare_them(console: Console) -> None:
    _seed(console)
    with _signed_in(console, ["prod", "staging", "secretenv:router"]) as (http, token):
        page = http.get(COMPARE.format(env="prod"))
        assert '<option value="staging">' in page.text
        assert "secretenv" not in _main(page.text)  # read only in part: not offered
        envs = http.get(COMPARE.format(env="prod"), params={"mode": "envs", "source": "staging"})
        assert envs.status_code == 200
        assert "global_setting/only_staging" in envs.text and "router/default" in envs.text
        partial = http.get(COMPARE.format(env="prod"), params={"source": "secretenv"})
        assert partial.status_code == 403 and "hidden_key" not in partial.text
        assert _api(console, token, "/v1/envs/secretenv/diff", **{"from": "0"}) == 403
        assert _api(console, token, "/v1/envs/staging/diff", **{"from": "0"}) == 200
        points = http.get(COMPARE.format(env="staging"), params={"mode": "points", "from": "0"})
        assert points.status_code == 200 and "router/default" in points.text
