"""The client runtime opens only schema secret fields: text that merely looks sealed in
any other field is served as it is, and never makes an entry unavailable."""

from __future__ import annotations

from typing import Any

from domain.areas import GlobalSetting, ProviderConfig
from tests.infrastructure.client.conftest import ClientFor, Write

PLAIN = "sk-client-schema-31d0"
ORG = "enc:v1:abc"
TEXT = "enc:v2:xx:yy"


def provider() -> dict[str, Any]:
    key = {"name": "main", "api_key": PLAIN, "organization": ORG}
    return {"provider_type": "openai", "keys": [key]}


def test_the_client_serves_sealed_looking_text_of_plain_fields(
    write: Write, client_for: ClientFor
) -> None:
    write("set", "prod", "provider", "openai", provider())
    write("set", "prod", "global_setting", "motd", {"value": TEXT})
    client = client_for("prod")
    status = client.status()
    assert (status.connected, status.problems) == (True, ())
    served = client.get("provider", "openai")
    assert isinstance(served, ProviderConfig)
    (key,) = served.keys
    assert key.api_key.get_secret_value() == PLAIN
    assert key.organization == ORG
    setting = client.get("global_setting", "motd")
    assert isinstance(setting, GlobalSetting) and setting.value == TEXT
    assert client.effective("global_setting", "motd").value == setting
    write("set", "prod", "global_setting", "motd", {"value": "enc:v1:changed"})
    client.wait_for(client.position + 1)
    changed = client.get("global_setting", "motd")
    assert isinstance(changed, GlobalSetting) and changed.value == "enc:v1:changed"
    assert client.status().problems == ()
