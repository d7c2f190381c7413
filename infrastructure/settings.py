"""The one settings model: environment variables prefixed ``CONDUIT_CONFIG_``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import SettingsError
from domain.limits import (
    DEFAULT_LIMITS,
    DepthBound,
    KeyCharsBound,
    MembersBound,
    StringCharsBound,
    ValueBytesBound,
    ValueLimits,
)
from domain.parsing import is_whole_number

ENV_PREFIX = "CONDUIT_CONFIG_"


class Settings(BaseSettings):
    """Process-wide settings. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; unset starts an embedded PostgreSQL under `home`.",
    )
    database_schema: str = Field(
        default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Schema for all tables."
    )
    home: Path = Field(
        default=Path(".conduit-config"),
        description="Directory of the embedded PostgreSQL and its generated secret key.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="AES-256-GCM key for secret fields: 32 bytes, base64url."
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of the log's tamper-evident chain: 32 bytes, base64url"
        " (once set, every writer needs it).",
    )
    retired_secret_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated base64url keys that open (never seal) secrets sealed"
        " before a rotation.",
    )
    new_secret_key: bool = Field(
        default=False,
        description="The current secret key is new: record it in the store (a rotation)"
        " instead of refusing to seal with a key the store does not know.",
    )
    snapshot_interval: int = Field(
        default=50, ge=1, le=100_000, description="Per-entry snapshot every N versions."
    )
    actor: str | None = Field(
        default=None, max_length=200, description="Actor recorded on changes (default: OS user)."
    )
    areas: str = Field(
        default="",
        description="Comma-separated `module:Class` import paths of extra area schemas.",
    )
    pool_size: int = Field(default=4, ge=1, le=100, description="Database connections kept.")
    projection_batch_size: int = Field(
        default=1000, ge=1, le=100_000, description="Events per projection transaction."
    )
    checkpoint_interval: int = Field(
        default=1000,
        ge=10,
        le=1_000_000,
        description="Environment checkpoint every N events of that environment.",
    )
    entry_cache_size: int = Field(
        default=10_000,
        ge=0,
        le=10_000_000,
        description="Entries whose last saved state writers keep in memory (0: none).",
    )
    auto_migrate: bool = Field(
        default=True,
        description="Apply pending migrations at start-up (else refuse to start until migrated).",
    )
    connect_timeout: int = Field(
        default=10, ge=1, le=300, description="Seconds to wait for a database connection."
    )
    database_timeout_seconds: float = Field(
        default=5.0,
        ge=0.5,
        le=300,
        description="Longest a request waits for a database connection: while the database"
        " is unreachable every request answers 503 within about this (at once within a"
        " second of the last failure).",
    )

    token_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=300,
        description="Seconds a server trusts a checked token before reading it again.",
    )
    http_require_if_match: bool = Field(
        default=False, description="HTTP writes must send If-Match (else 428)."
    )
    http_max_body_bytes: int = Field(
        default=1_048_576, ge=1024, le=100_000_000, description="Largest HTTP request body."
    )
    max_value_depth: DepthBound = Field(
        default=DEFAULT_LIMITS.max_depth,
        description="Deepest nesting of objects and lists in one value (the value is level 1).",
    )
    max_value_bytes: ValueBytesBound = Field(
        default=DEFAULT_LIMITS.max_value_bytes,
        description="Largest stored value, as compact UTF-8 JSON (secrets encrypted).",
    )
    max_string_chars: StringCharsBound = Field(
        default=DEFAULT_LIMITS.max_string_chars,
        description="Longest string in a value, in characters.",
    )
    max_key_chars: KeyCharsBound = Field(
        default=DEFAULT_LIMITS.max_key_chars,
        description="Longest object key in a value, in characters.",
    )
    max_value_members: MembersBound = Field(
        default=DEFAULT_LIMITS.max_members,
        description="Most members of one object (or items of one list) in a value.",
    )
    max_document_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=65_536,
        le=1024 * 1024 * 1024,
        description="Largest document (plan, apply, import) or CLI value text read.",
    )
    http_read_cache_size: int = Field(
        default=10_000,
        ge=0,
        le=10_000_000,
        description="Current entries a server keeps in memory until the log changes them.",
    )
    ready_max_lag: int = Field(
        default=10_000,
        ge=0,
        description="/readyz answers 503 when a projection is more events behind than this.",
    )

    leader_poll_seconds: float = Field(
        default=1.0,
        ge=0.05,
        le=60,
        description="How often a follower tries to become leader (and the leader checks"
        " its lock connection): a dead leader is replaced within about this long.",
    )
    leader_timeout_seconds: int = Field(
        default=10,
        ge=2,
        le=600,
        description="Seconds of silence after which PostgreSQL drops a vanished leader's"
        " connection (TCP keepalive), releasing its lock.",
    )
    heartbeat_seconds: float = Field(
        default=2.0, ge=0.1, le=300, description="Seconds between instance heartbeats."
    )
    instance_timeout_seconds: float = Field(
        default=10.0,
        ge=0.5,
        le=3600,
        description="An instance not heard from for this long is reported dead.",
    )
    checkpoint_minutes: float = Field(
        default=10.0,
        ge=0,
        le=10_080,
        description="The leader checkpoints every environment changed since its last"
        " checkpoint this often (0: only every CONDUIT_CONFIG_CHECKPOINT_INTERVAL events).",
    )
    schedule_poll_seconds: float = Field(
        default=1.0, ge=0.05, le=60, description="How often the leader applies due changes."
    )
    lag_alert_events: int = Field(
        default=1000,
        ge=1,
        description="The leader's watchdog logs and flags a projection or instance more"
        " events behind than this.",
    )
    leader_stall_seconds: float = Field(
        default=60.0,
        ge=1,
        le=86_400,
        description="A leader whose projection behind the log has not moved for this long"
        " steps down (and waits as long before competing again).",
    )
    console_idle_minutes: int = Field(
        default=720, ge=1, le=43_200, description="A console session unused this long ends."
    )
    console_lifetime_hours: int = Field(
        default=168, ge=1, le=8760, description="A console session ends this long after sign-in."
    )
    console_signin_failures: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Failed console sign-ins a minute from one address before 429.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (redis://, rediss://, unix://): enables the Redis mirror.",
    )
    redis_prefix: str = Field(
        default="conduit-config",
        pattern=r"^[A-Za-z0-9_.-]{1,100}$",
        description="First part of every Redis key and channel of the mirror.",
    )

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        try:
            parts = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise ValueError(f"not a PostgreSQL URL or conninfo ({exc})") from None
        for port in str(parts.get("port") or "5432").split(","):
            if not (is_whole_number(port) and 0 < int(port) < 65_536):
                raise ValueError(f"port {port!r} is not a TCP port (1-65535)")
        return url

    @model_validator(mode="after")
    def _check_console_session(self) -> Settings:
        if self.console_idle_minutes > self.console_lifetime_hours * 60:
            raise ValueError(
                f"{ENV_PREFIX}CONSOLE_IDLE_MINUTES ({self.console_idle_minutes}) is longer than"
                f" {ENV_PREFIX}CONSOLE_LIFETIME_HOURS ({self.console_lifetime_hours} h);"
                " a session's idle time must fit in its lifetime"
            )
        return self

    def value_limits(self) -> ValueLimits:
        """The bounds every stored value keeps (``CONDUIT_CONFIG_MAX_VALUE_*`` and co)."""
        return ValueLimits(
            max_depth=self.max_value_depth,
            max_value_bytes=self.max_value_bytes,
            max_string_chars=self.max_string_chars,
            max_key_chars=self.max_key_chars,
            max_members=self.max_value_members,
        )


#: Every setting at its default, whatever the environment holds (``model_construct`` reads
#: no variable): the one place options built without settings take their defaults from.
DEFAULTS = Settings.model_construct()


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, with explicit overrides (CLI options) on top.

    Raises :class:`SettingsError` naming each bad variable.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            if not err["loc"]:  # a check across variables names them in its message
                problems.append(err["msg"].removeprefix("Value error, "))
                continue
            name = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
