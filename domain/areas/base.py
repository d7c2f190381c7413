"""Base class of every area schema and helpers shared by the built-in areas."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

#: Name of an entry key, of an environment, or of a referenced model/provider.
Name = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$")
]


class AreaModel(BaseModel):
    """A configuration area: a frozen pydantic model that rejects unknown fields.

    Subclasses set ``area_name`` (the name used in addresses such as ``router/default``),
    ``singleton`` (the area has one entry, key ``default``), ``schema_version``
    (bumped when stored values need upcasting) and a one-line ``summary``.
    Fields typed ``SecretStr`` are secrets: encrypted before they enter an event and
    shown redacted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    area_name: ClassVar[str] = ""
    singleton: ClassVar[bool] = False
    schema_version: ClassVar[int] = 1
    summary: ClassVar[str] = ""


SINGLETON_KEY = "default"


def is_secret_annotation(annotation: Any) -> bool:
    """True when a field annotation is ``SecretStr`` or ``SecretStr | None``."""
    if annotation is SecretStr:
        return True
    args = getattr(annotation, "__args__", ())
    return any(a is SecretStr for a in args)
