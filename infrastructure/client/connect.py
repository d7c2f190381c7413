"""Building a client: open the store (or, when it is unreachable, the last-known-good
copy), load the environment's state, apply overrides, start following."""

from __future__ import annotations

import getpass
import logging
import os
import threading
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from domain.address import DEFAULT_ENVIRONMENT, check_name
from domain.environment import EnvState
from domain.errors import ConfigStoreError, SettingsError
from domain.secrets import SecretCodec
from domain.stored import EntryProblem
from infrastructure.bootstrap import load_registry, open_store, secret_codec
from infrastructure.client.client import RECONNECT_SECONDS, ConfigClient
from infrastructure.client.lkg import LastKnownGood
from infrastructure.client.overrides import parse_overrides
from infrastructure.client.remote import HttpBackend
from infrastructure.client.secrets import secret_opener
from infrastructure.errors import StorageError
from infrastructure.settings import Settings, load_settings
from infrastructure.store import ConfigStore
from projections.live import LiveView

log = logging.getLogger("conduit_config.client")
_DEFAULT = object()


def connect(
    environment: str = DEFAULT_ENVIRONMENT,
    *,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
    last_known_good: str | os.PathLike[str] | Any | None = _DEFAULT,
    actor: str | None = None,
    url: str | None = None,
    token: str | None = None,
    reveal: bool = False,
) -> ConfigClient:
    """A client following ``environment`` of the configured store.

    With ``url`` (and ``token``) it follows a running server over HTTP instead of the
    database (secrets then arrive redacted). With ``reveal`` too, secrets arrive in
    plaintext (the token must be a service or admin token reaching the environment;
    the server records each reveal) and no last-known-good copy is kept, since it
    would hold them on disk.
    ``settings`` default to the ``CONDUIT_CONFIG_`` variables; overrides are read from
    ``environ`` (default: the process environment). ``last_known_good`` is the copy's
    path (default ``$CONDUIT_CONFIG_HOME/last-known-good/ENV.json``; ``None``: no copy).

    Raises :class:`SettingsError` (a bad override, naming the variable; a copy asked
    for with ``reveal``), :class:`StorageError` (unreachable store and no copy),
    :class:`PermissionDeniedError` (a token that may not read or reveal) or
    :class:`CorruptCopyError`.
    """
    check_name("environment", environment)
    settings = settings or load_settings()
    lkg = _copy(settings, environment, last_known_good, reveal=reveal and url is not None)
    stack = ExitStack()
    try:
        if url is not None:
            backend = HttpBackend(url=url, token=token or "", reveal=reveal)
            stack.callback(backend.close)
            return _start_remote(
                environment, settings, environ, lkg, backend=backend, actor=actor, stack=stack
            )
        return _start(environment, settings, environ, lkg, actor=actor, stack=stack)
    except BaseException:
        stack.close()
        raise


def _copy(settings: Settings, environment: str, path: Any, *, reveal: bool) -> LastKnownGood | None:
    """The last-known-good copy asked for (``_DEFAULT``: the one under the home); none
    for a revealing client, which refuses an explicit one (:class:`SettingsError`)."""
    if reveal:
        if path is not _DEFAULT and path is not None:
            raise SettingsError(
                "a client that reveals secrets keeps no last-known-good copy (it would hold"
                " them in plaintext on disk): pass last_known_good=None"
            )
        return None
    if path is _DEFAULT:
        path = settings.home / "last-known-good" / f"{environment}.json"
    return LastKnownGood(Path(path)) if path is not None else None


def _start(
    environment: str,
    settings: Settings,
    environ: Mapping[str, str] | None,
    lkg: LastKnownGood | None,
    *,
    actor: str | None,
    stack: ExitStack,
) -> ConfigClient:
    store, unreachable = _open(settings, stack)
    if store is not None:
        view = store.environment_at(environment, catch_up=False)
        position, state = view.position, view.state
    else:
        copy = lkg.load(environment) if lkg is not None else None
        if copy is None:
            raise unreachable or StorageError("the store is unreachable")
        position, state = copy
    codec = secret_codec(settings, embedded=settings.database_url is None)
    live = _view(environment, settings, environ, state, codec)
    live.load(position, state)
    who = actor or settings.actor or _user()
    client = ConfigClient(
        view=live, lkg=lkg, actor=who, stack=stack, connect_timeout=settings.connect_timeout
    )
    if store is not None:
        client.attach(store)
    else:
        where = lkg.path if lkg is not None else None
        log.warning(
            "store unreachable (%s): serving %s at position %d", unreachable, where, position
        )
        client.mark_unreachable(str(unreachable))
        _reconnect_later(client, settings, stack)
    return client


def _start_remote(
    environment: str,
    settings: Settings,
    environ: Mapping[str, str] | None,
    lkg: LastKnownGood | None,
    *,
    backend: HttpBackend,
    actor: str | None,
    stack: ExitStack,
) -> ConfigClient:
    problems: list[EntryProblem] = []
    try:
        position, state, problems = backend.load(environment)
        unreachable = None
    except StorageError as exc:
        copy = lkg.load(environment) if lkg is not None else None
        if copy is None:
            raise
        (position, state), unreachable = copy, exc
    live = _view(environment, settings, environ, state, None)
    live.load(position, state, problems)
    client = ConfigClient(view=live, lkg=lkg, actor=actor or settings.actor or _user(), stack=stack)
    if unreachable is not None:
        client.mark_unreachable(str(unreachable))
    client.attach_remote(backend)
    return client


def _open(settings: Settings, stack: ExitStack) -> tuple[ConfigStore | None, StorageError | None]:
    try:
        return stack.enter_context(open_store(settings)), None
    except StorageError as exc:
        return None, exc


def _view(
    environment: str,
    settings: Settings,
    environ: Mapping[str, str] | None,
    state: EnvState,
    codec: SecretCodec | None,
) -> LiveView:
    registry = load_registry(settings)
    keys: dict[str, list[str]] = {}
    for area, key in state:
        keys.setdefault(area, []).append(key)
    overrides = parse_overrides(os.environ if environ is None else environ, registry, keys)

    # A secret that cannot be opened (or arrived redacted) is never served as the secret:
    # the opener raises, and the view reports the entry, unserved.
    opened = secret_opener(codec)
    return LiveView(environment=environment, registry=registry, overrides=overrides, reveal=opened)


def _reconnect_later(client: ConfigClient, settings: Settings, stack: ExitStack) -> None:
    """Retry the store in the background; follow it from the copy's position once up."""
    stop = threading.Event()
    guard = threading.Lock()

    def stopped() -> None:
        with guard:  # an attach in progress finishes first, then is closed with the rest
            stop.set()

    stack.callback(stopped)

    def retry() -> None:
        while not stop.wait(RECONNECT_SECONDS):
            opened = ExitStack()
            store, _ = _open(settings, opened)
            if store is None:
                continue
            with guard:
                if stop.is_set():  # the client closed meanwhile
                    opened.close()
                    return
                stack.callback(opened.close)
                try:
                    client.attach(store)
                    return
                except ConfigStoreError as exc:
                    log.warning("reconnected, but following failed: %s; retrying", exc)

    threading.Thread(target=retry, name="config-reconnect", daemon=True).start()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "client"
