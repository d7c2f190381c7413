"""The ``provider`` area: an LLM provider, its endpoint and its API keys."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    model_validator,
)

from domain.areas.base import AreaModel

ProviderType = Literal[
    "openai",
    "groq",
    "replicate",
    "fireworks",
    "openai_compatible",
    "minimax",
    "ultravox",
    "elevenlabs",
    "cerebras",
    "sambanova",
    "deepinfra",
]

MAX_KEYS = 32

_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def _check_http_url(url: str) -> str:
    # Validated as a URL but kept as the string the user wrote, so that python-mode dumps
    # stay plain JSON and re-saving a value does not show a normalisation diff.
    _HTTP_URL.validate_python(url)
    return url


HttpUrlString = Annotated[
    str,
    Field(max_length=2000, json_schema_extra={"format": "uri"}),
    AfterValidator(_check_http_url),
]


class ProviderKey(BaseModel):
    """One API key of a provider; ``api_key`` is a secret."""

    # hide_input_in_errors: an error message must never echo the api_key.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=100, description="Name of the key, unique.")
    api_key: SecretStr = Field(description="The API key (secret: encrypted, shown redacted).")
    organization: str | None = Field(
        default=None, max_length=100, description="Organization id sent with the key."
    )
    account_group: int = Field(
        default=0, ge=0, le=32, description="Account group, for keys sharing a rate limit."
    )
    is_primary: bool = Field(default=False, description="Whether this key is tried first.")
    enabled: bool = Field(default=True, description="Whether this key may be used.")


class ProviderConfig(AreaModel):
    """An LLM provider, keyed by provider name."""

    model_config = ConfigDict(hide_input_in_errors=True)

    area_name: ClassVar[str] = "provider"
    summary: ClassVar[str] = "An LLM provider: type, endpoint and API keys (secret)"

    provider_type: ProviderType = Field(description="Kind of provider API.")
    base_url: HttpUrlString | None = Field(
        default=None,
        description="Endpoint URL (http/https); required for openai_compatible.",
    )
    enabled: bool = Field(default=True, description="Whether the provider may be used.")
    keys: list[ProviderKey] = Field(
        default_factory=list,
        max_length=MAX_KEYS,
        description="API keys; at most one primary, which must be enabled.",
    )

    @model_validator(mode="after")
    def _check_base_url(self) -> Self:
        if self.provider_type == "openai_compatible" and self.base_url is None:
            raise ValueError("base_url is required when provider_type is 'openai_compatible'")
        return self

    @model_validator(mode="after")
    def _check_keys(self) -> Self:
        seen: set[str] = set()
        for key in self.keys:
            if key.name in seen:
                raise ValueError(f"keys: key names must be unique, {key.name!r} is repeated")
            seen.add(key.name)
        primaries = [(i, key) for i, key in enumerate(self.keys) if key.is_primary]
        if len(primaries) > 1:
            names = ", ".join(repr(key.name) for _, key in primaries)
            raise ValueError(f"keys: at most one key may be primary (primary: {names})")
        for index, key in primaries:
            if not key.enabled:
                raise ValueError(
                    f"keys.{index}.enabled: the primary key {key.name!r} must be enabled"
                )
        if self.enabled and self.keys and not any(key.enabled for key in self.keys):
            raise ValueError("keys: an enabled provider must keep at least one enabled key")
        return self
