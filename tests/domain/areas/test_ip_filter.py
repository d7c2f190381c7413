from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from domain.areas import IpFilterRule


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        IpFilterRule.model_validate({"filter_type": "allow", "cidr": "10.0.0.0/8", **data})
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_minimal() -> None:
    rule = IpFilterRule.model_validate({"filter_type": "deny", "cidr": "10.0.0.0/8"})
    assert rule.model_dump() == {
        "filter_type": "deny",
        "cidr": "10.0.0.0/8",
        "description": None,
        "enabled": True,
    }


@pytest.mark.parametrize(
    ("cidr", "normalised"),
    [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("192.168.1.7", "192.168.1.7/32"),
        ("192.168.1.7/32", "192.168.1.7/32"),
        (" 172.16.0.0/12 ", "172.16.0.0/12"),
        ("2001:DB8::/32", "2001:db8::/32"),
        ("2001:0db8:0000::/48", "2001:db8::/48"),
        ("::1", "::1/128"),
        ("::/0", "::/0"),
    ],
)
def test_cidr_accepted_and_normalised(cidr: str, normalised: str) -> None:
    rule = IpFilterRule.model_validate({"filter_type": "allow", "cidr": cidr})
    assert rule.cidr == normalised
    assert IpFilterRule.model_validate(rule.model_dump(mode="json")) == rule


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({"cidr": "10.0.0.1/8"}, ("cidr",), "host bits set; did you mean '10.0.0.0/8'"),
        ({"cidr": "2001:db8::1/32"}, ("cidr",), "did you mean '2001:db8::/32'"),
        ({"cidr": "300.0.0.0/8"}, ("cidr",), "not a valid IPv4 or IPv6 network"),
        ({"cidr": "10.0.0.0/33"}, ("cidr",), "not a valid IPv4 or IPv6 network"),
        ({"cidr": "localhost"}, ("cidr",), "not a valid IPv4 or IPv6 network"),
        ({"cidr": ""}, ("cidr",), "at least 1 character"),
        ({"cidr": "1" * 51}, ("cidr",), "at most 50 characters"),
        ({"filter_type": "block"}, ("filter_type",), "Input should be 'allow' or 'deny'"),
        ({"filter_type": None}, ("filter_type",), "Input should be"),
        ({"description": "d" * 501}, ("description",), "at most 500 characters"),
        ({"priority": 1}, ("priority",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


@pytest.mark.parametrize("field", ["filter_type", "cidr"])
def test_required(field: str) -> None:
    data = {"filter_type": "allow", "cidr": "10.0.0.0/8"}
    del data[field]
    with pytest.raises(ValidationError) as info:
        IpFilterRule.model_validate(data)
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [((field,), "missing")]


def test_round_trip() -> None:
    rule = IpFilterRule(filter_type="deny", cidr="fd00::/8", description="ULA", enabled=False)
    dumped = rule.model_dump(mode="json")
    orjson.dumps(dumped)
    assert IpFilterRule.model_validate(dumped) == rule
    assert IpFilterRule(filter_type="allow", cidr="1.2.3.4", description="d" * 500).description
