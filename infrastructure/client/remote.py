"""The client over HTTP: load an environment's state from a running server, follow its
change stream (resuming with ``Last-Event-ID``), and write through its API.

Secrets arrive redacted (``********``), unless the client asks for them revealed
(``reveal``) with a token allowed to see them (role ``service`` or ``admin``): the server
records every reveal, and the values then hold plaintext secrets, in memory only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import orjson

from domain.address import Address
from domain.entry import Provenance
from domain.environment import EntryState, EnvState
from domain.errors import (
    ConfigStoreError,
    InvalidValueError,
    NotFoundError,
    PermissionDeniedError,
    VersionConflictError,
)
from domain.stored import STORED_VALUE_TYPE, BrokenEntry, EntryProblem, StoredValueError
from infrastructure.errors import AuthenticationError, StorageError
from infrastructure.retry import RECONNECT_BACKOFF
from infrastructure.store.views import WriteResult

log = logging.getLogger("conduit_config.client")
#: Receives one entry's new state and the name of the event that made it.
ApplyState = Callable[[EntryState, str], None]


class HttpBackend:
    """A running server, reached with a bearer token."""

    def __init__(
        self, *, url: str, token: str, timeout: float = 10.0, reveal: bool = False
    ) -> None:
        self.reveal = reveal
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            trust_env=False,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self, environment: str) -> tuple[int, EnvState, list[EntryProblem]]:
        """The environment's entries, the position they are at, and the entries the
        server left out because their stored value cannot be served."""
        data = self._call("GET", f"/v1/envs/{environment}/state", params=self._reveal_param())
        state = {}
        for item in data["entries"]:
            entry = EntryState.from_public(item)
            state[entry.area, entry.key] = entry
        problems = [
            EntryProblem(str(p["area"]), str(p["key"]), str(p["reason"]))
            for p in data.get("problems", [])
        ]
        return int(data["position"]), state, problems

    def write(
        self, name: str, address: Address, *args: Any, provenance: Provenance, **options: Any
    ) -> WriteResult:
        """``set``, ``patch`` or ``rollback`` through the API."""
        path = f"/v1/envs/{address.environment}/entries/{address.area}/{address.key}"
        headers = {
            "X-Change-Reason": provenance.reason or "",
            "X-Correlation-ID": provenance.correlation_id,
        }
        expected = options.pop("expected_version", None)
        if expected is not None:
            headers["If-Match"] = f'"{expected}"'
        if name == "rollback":
            body = {
                k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in options.items()
            }
            data = self._call("POST", path + "/rollback", json=body, headers=headers)
        else:
            data = self._call(
                "PUT" if name == "set" else "PATCH", path, json=args[0], headers=headers
            )
        return WriteResult(address, data["version"], data["position"], data["changed"])

    def follow(
        self,
        environment: str,
        *,
        position: Callable[[], int],
        apply: ApplyState,
        on_error: Callable[[BaseException | None], None],
    ) -> None:
        """Follow the change stream in a thread until :meth:`close`."""

        def run() -> None:
            failures = 0
            while not self._stop.is_set():
                try:
                    self._stream(environment, position, apply, on_error)
                except (httpx.HTTPError, ConfigStoreError, OSError) as exc:
                    if self._stop.is_set():
                        return  # closed under our feet by close()
                    failures += 1
                    on_error(exc)
                    delay = RECONNECT_BACKOFF.delay(failures)
                    log.warning("change stream: %s; reconnecting in %.1fs", exc, delay)
                    self._stop.wait(delay)
                else:
                    failures = 0

        self._thread = threading.Thread(target=run, name="config-http-follower", daemon=True)
        self._thread.start()

    def _stream(
        self,
        environment: str,
        position: Callable[[], int],
        apply: ApplyState,
        on_error: Callable[[BaseException | None], None],
    ) -> None:
        params = {"env": environment, "after": str(position()), **self._reveal_param()}
        timeout = httpx.Timeout(self._http.timeout.connect, read=60.0)
        with self._http.stream("GET", "/v1/changes", params=params, timeout=timeout) as response:
            if response.status_code != 200:
                raise StorageError(f"change stream answered {response.status_code}")
            on_error(None)
            for event in _events(response.iter_lines()):
                if self._stop.is_set():
                    return
                apply(self._state_after(environment, event), str(event["event"]))

    def _reveal_param(self) -> dict[str, str]:
        return {"reveal": "true"} if self.reveal else {}

    def _state_after(self, environment: str, event: dict[str, Any]) -> EntryState:
        area, key, version = event["area"], event["key"], int(event["version"])
        path = f"/v1/envs/{environment}/entries/{area}/{key}"
        deleted = event["event"] == "deleted"
        stored: dict[str, Any] = {}
        position = int(event["position"])
        if "value" in event:  # a revealing stream carries the value (read and recorded)
            return EntryState(area, key, version, position, event["value"], False)
        if "problem" in event:
            return BrokenEntry(area, key, version, position, {}, False, problem=event["problem"])
        if event.get("deleted"):
            return EntryState(area, key, version, position, {}, True)
        if not deleted:
            params = {"version": version, "stored": "true", **self._reveal_param()}
            try:
                reply = self._call("GET", path, params=params)
            except StoredValueError as exc:  # served by no one: the view reports it
                return BrokenEntry(area, key, version, position, {}, False, problem=exc.reason)
            except NotFoundError:  # a state that is deleted (e.g. re-established so by repair)
                return EntryState(area, key, version, position, {}, True)
            stored = reply["value"]
        return EntryState(area, key, version, position, stored, deleted)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise StorageError(f"the server is unreachable: {exc}") from None
        if response.status_code >= 400:
            raise _problem(response)
        return response.json()

    def close(self) -> None:
        """Stop following and close the connection."""
        self._stop.set()
        self._http.close()  # ends a blocked read of the stream
        if self._thread is not None:
            self._thread.join(timeout=5)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The ``data:`` of each server-sent ``change`` event."""
    kind, data = "", ""
    for line in lines:
        if not line:
            if kind == "change" and data:
                yield orjson.loads(data)
            kind, data = "", ""
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()


_ERRORS: dict[int, type[ConfigStoreError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: VersionConflictError,
    412: VersionConflictError,
    422: InvalidValueError,
}


def _problem(response: httpx.Response) -> ConfigStoreError:
    """The store error of a problem+json answer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    detail = str(body.get("detail", response.text))
    if body.get("type") == STORED_VALUE_TYPE:
        area, _, key = str(body.get("entry", "")).partition("/")
        return StoredValueError(area, key, str(body.get("reason", detail)))
    kind = _ERRORS.get(response.status_code, StorageError)
    if kind is VersionConflictError:
        return VersionConflictError("entry", expected=None, current=None, detail=detail)
    if kind is InvalidValueError:
        return InvalidValueError.single("value", detail)
    return kind(detail)
