"""The ``ip_filter`` area: a rule allowing or denying a network of client addresses."""

from __future__ import annotations

import ipaddress
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from domain.areas.base import AreaModel

FilterType = Literal["allow", "deny"]


class IpFilterRule(AreaModel):
    """An allow or deny rule for an IPv4 or IPv6 network, keyed by rule name."""

    area_name: ClassVar[str] = "ip_filter"
    summary: ClassVar[str] = "Allow or deny client addresses of an IPv4/IPv6 network"

    filter_type: FilterType = Field(description="Whether matching clients are allowed or denied.")
    cidr: str = Field(
        min_length=1,
        max_length=50,
        description="Network in CIDR notation (a bare address is a /32 or /128), normalised.",
    )
    description: str | None = Field(default=None, max_length=500, description="Free text.")
    enabled: bool = Field(default=True, description="Whether the rule is applied.")

    @field_validator("cidr")
    @classmethod
    def _normalise_cidr(cls, cidr: str) -> str:
        text = cidr.strip()
        try:
            return str(ipaddress.ip_network(text, strict=True))
        except ValueError:
            pass
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{cidr!r} is not a valid IPv4 or IPv6 network") from None
        raise ValueError(f"{cidr!r} has host bits set; did you mean {str(network)!r}?")
