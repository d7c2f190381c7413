"""A user area (registered through CONDUIT_CONFIG_AREAS in the tests) whose ``item`` is
one of two models, only one of them with a secret at ``token``: the schema makes the
place secret whichever member a value picks."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr

from domain.areas.base import AreaModel


class SecretItem(BaseModel):
    """The member whose ``token`` is a secret."""

    kind: Literal["secret"]
    token: SecretStr


class PlainItem(BaseModel):
    """The member whose ``token`` is plain text (still kept as a secret: see above)."""

    kind: Literal["plain"]
    token: str


class ChoiceConfig(AreaModel):
    """A user area the package does not ship."""

    area_name: ClassVar[str] = "choice"
    summary: ClassVar[str] = "One of two items"

    item: SecretItem | PlainItem | None = Field(default=None, description="The item.")
