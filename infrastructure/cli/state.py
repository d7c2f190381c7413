"""Per-invocation CLI state: options, settings and the lazily opened store."""

from __future__ import annotations

import getpass
import re
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import click

from domain import parsing
from domain.address import DEFAULT_ENVIRONMENT, Address
from domain.areas.base import SINGLETON_KEY
from domain.entry import Provenance
from domain.errors import FieldError, InvalidValueError
from infrastructure.bootstrap import database_url, open_store
from infrastructure.settings import Settings, load_settings
from infrastructure.store import ConfigStore


@dataclass
class CliState:
    """What the global options said, plus resources to close at exit."""

    environment: str = DEFAULT_ENVIRONMENT
    environment_given: bool = False
    database_url: str | None = None
    as_json: bool = False
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _settings: Settings | None = None
    _store: ConfigStore | None = None
    _stack: ExitStack = field(default_factory=ExitStack)

    @property
    def settings(self) -> Settings:
        """Settings from the environment with ``--database-url`` on top."""
        if self._settings is None:
            self._settings = load_settings(database_url=self.database_url)
        return self._settings

    @property
    def store(self) -> ConfigStore:
        """The store, opened on first use (starting the embedded PostgreSQL if needed)."""
        if self._store is None:
            self._store = self._stack.enter_context(open_store(self.settings))
        return self._store

    def database_url_for_migrate(self) -> str:
        """A database URL without opening the store (starts the embedded server if needed)."""
        return self._stack.enter_context(database_url(self.settings))

    def on_close(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the command ends (before the store closes)."""
        self._stack.callback(callback)

    def close(self) -> None:
        """Close the store and stop the embedded server if this process started it."""
        self._stack.close()

    def address(self, text: str) -> Address:
        """Parse ``AREA/KEY``; a bare singleton area name means ``AREA/default``."""
        return Address.parse(text, environment=self.environment, default_key=SINGLETON_KEY)

    def provenance(
        self, actor: str | None, reason: str | None, *, source: str = "cli"
    ) -> Provenance:
        """Who is changing what, for the event metadata. Raises :class:`InvalidValueError`
        naming each bad option (``--actor: ...``)."""
        name = actor or self.settings.actor or _os_user()
        try:
            return Provenance.checked(
                actor=name, reason=reason, source=source, correlation_id=self.correlation_id
            )
        except InvalidValueError as exc:  # the fields came as options: name them so
            errors = [FieldError(f"--{e.field}", e.message) for e in exc.errors]
            raise InvalidValueError(errors, area=exc.area) from None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


T = TypeVar("T")


def get_state() -> CliState:
    """The state of the running command."""
    state = click.get_current_context().find_object(CliState)
    assert state is not None
    return state


class WholeNumber(click.ParamType[int]):
    """A click parameter of ASCII digits from ``minimum`` to ``maximum`` (click's
    ``INT`` takes ``+3``, ``1_0`` and other scripts' digits, and no bigint bound)."""

    name = "integer"

    def __init__(self, minimum: int = 0, maximum: int = parsing.MAX_INT64) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The number; a usage error (exit 2) naming the option otherwise."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            number = parsing.whole_number(str(value), name="value", minimum=self.minimum)
        except parsing.MalformedInputError as exc:
            self.fail(exc.problem, param, ctx)
        if number > self.maximum:
            self.fail(f"must be at most {self.maximum}", param, ctx)
        return number


class Seconds(click.ParamType[float]):
    """A click parameter of seconds: ASCII ``12`` or ``1.5`` from 0 to ``maximum``
    (``float()`` takes ``nan``, which no range check refuses, and ``٣``)."""

    name = "seconds"
    _FORM = re.compile(r"[0-9]+(?:\.[0-9]+)?")

    def __init__(self, maximum: float) -> None:
        self.maximum = maximum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The seconds; a usage error (exit 2) naming the option otherwise."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        text = str(value)
        if not self._FORM.fullmatch(text) or float(text) > self.maximum:
            self.fail(f"{text!r} is not a number of seconds from 0 to {self.maximum:g}", param, ctx)
        return float(text)


#: A version option (from 1) and a log position option (from 0).
VERSION = WholeNumber(minimum=1)
POSITION = WholeNumber(minimum=0)


def _usage(parse: Callable[..., T], text: str, **options: Any) -> T:
    """``parse(text, **options)``; a malformed argument is click's usage error (exit 2)
    naming it."""
    try:
        return parse(text, **options)
    except parsing.MalformedInputError as exc:
        raise click.BadParameter(exc.problem, param_hint=exc.name) from None


def parse_time(text: str, *, name: str = "timestamp", require_offset: bool = False) -> datetime:
    """An ISO-8601 time in UTC (a naive one is taken as UTC unless ``require_offset``);
    ``click.BadParameter`` naming ``name`` when malformed or out of range in UTC."""
    return _usage(parsing.moment, text, name=name, require_offset=require_offset)


def parse_ref(text: str, *, name: str) -> int | datetime:
    """A version number (from 1) or an ISO-8601 timestamp."""
    return _usage(parsing.version_or_time, text, name=name)


def parse_point(text: str, *, name: str) -> int | datetime | str | None:
    """A point of the log: ``now``, a position, an ISO-8601 timestamp or a snapshot name."""
    return _usage(parsing.point, text, name=name)


def one_point(options: dict[str, Any], *, required: bool) -> int | datetime | str | None:
    """The one point-in-time option given (``--as-of``/``--to-time`` values are parsed as
    timestamps); a usage error if several (or, when ``required``, none) are given."""
    given = {name: value for name, value in options.items() if value is not None}
    if len(given) > 1 or (required and not given):
        quantity = "exactly one" if required else "at most one"
        raise click.UsageError(f"give {quantity} of {', '.join(options)}")
    for name, value in given.items():
        return parse_time(value, name=name) if name in _TIME_OPTIONS else value
    return None


_TIME_OPTIONS = ("--as-of", "--to-time")
