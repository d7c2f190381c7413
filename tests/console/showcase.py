"""Realistic data for the console's screenshots, written through the HTTP API of a real
``serve``: providers with keys, model mappings and deployments, a router, feature flags
and a global setting in three environments, a history of changes by several people, a
deleted entry, a snapshot taken before later changes, and a pending scheduled change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.console.conftest import Console

SNAPSHOT = "release-2026-11"
Value = dict[str, Any]

PROVIDERS: dict[str, Value] = {
    "openai": {
        "provider_type": "openai",
        "keys": [
            {"name": "main", "api_key": "sk-showcase-main-000000000000", "is_primary": True},
            {"name": "backup", "api_key": "sk-showcase-backup-0000000000", "account_group": 2},
        ],
    },
    "groq": {"provider_type": "groq", "keys": [{"name": "main", "api_key": "gsk-showcase-0000"}]},
    "azure-eu": {
        "provider_type": "openai_compatible",
        "base_url": "https://eu.inference.example.com/v1",
        "keys": [{"name": "eu-1", "api_key": "az-showcase-0000", "organization": "acme-eu"}],
    },
}
MAPPINGS: dict[str, Value] = {
    "gpt-4o": {
        "provider": "openai",
        "provider_model": "gpt-4o-2024-08-06",
        "is_default": True,
        "max_context_tokens": 128000,
        "capabilities": {"supports_vision": True, "supports_function_calling": True},
    },
    "fast": {"provider": "groq", "provider_model": "llama-3.1-8b-instant"},
    "eu-chat": {"provider": "azure-eu", "provider_model": "gpt-4o-mini"},
}
DEPLOYMENTS: dict[str, Value] = {
    "gpt-4o-primary": {
        "model_name": "gpt-4o",
        "provider": "openai",
        "weight": 3,
        "rpm": 5000,
        "input_cost_per_1k_tokens": 0.0025,
        "output_cost_per_1k_tokens": 0.01,
    },
    "llama-groq": {"model_name": "fast", "provider": "groq", "priority": 2, "tpm": 200000},
}
FLAGS: dict[str, Value] = {
    "new-ui": {"enabled": True, "rollout_percent": 10, "description": "The redesigned chat UI"},
    "streaming-v2": {"enabled": True, "rollout_percent": 100},
    "semantic-cache": {"enabled": False, "description": "Waiting for the cache cluster"},
    "legacy-billing": {"enabled": True},
}


def _client(console: Console, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=console.url, headers=headers, timeout=10, trust_env=False)


def _put(api: httpx.Client, env: str, entry: str, value: Value, reason: str) -> None:
    answer = api.put(
        f"/v1/envs/{env}/entries/{entry}", json=value, headers={"X-Change-Reason": reason}
    )
    assert answer.status_code in (200, 201), answer.text


def _area(api: httpx.Client, env: str, area: str, values: dict[str, Value], why: str) -> None:
    for key, value in values.items():
        _put(api, env, f"{area}/{key}", value, why)


def _catalogue(api: httpx.Client, env: str) -> None:
    """Providers, mappings, deployments and flags of one environment."""
    _area(api, env, "provider", PROVIDERS, "onboard the provider")
    _area(api, env, "model_mapping", MAPPINGS, "publish the model alias")
    _area(api, env, "model_deployment", DEPLOYMENTS, "capacity plan Q4")
    _area(api, env, "feature_flag", FLAGS, "initial flag set")


def _router_history(api: httpx.Client, env: str) -> None:
    """Three versions of the router, each with its reason."""
    steps = [
        ({"default_strategy": "simple", "max_retries": 3}, "first router settings"),
        ({"default_strategy": "leastcost", "max_retries": 5}, "cut spend: route by cost"),
        (
            {"default_strategy": "leastcost", "max_retries": 5, "fallbacks_enabled": True},
            "INC-4121: fall back when groq is down",
        ),
    ]
    for value, reason in steps:
        _put(api, env, "router/default", value, reason)


def _after_snapshot(alice: httpx.Client, bob: httpx.Client) -> None:
    """Changes made after the snapshot, so a restore has something to undo."""
    flag = {**FLAGS["new-ui"], "rollout_percent": 25}
    _put(bob, "prod", "feature_flag/new-ui", flag, "widen the rollout to 25%")
    answer = alice.delete(
        "/v1/envs/prod/entries/feature_flag/legacy-billing",
        headers={"X-Change-Reason": "billing v2 is live"},
    )
    assert answer.status_code == 200, answer.text
    openai = {**PROVIDERS["openai"], "base_url": "https://api.openai.com/v1"}
    openai["keys"] = [{**k, "api_key": "********"} for k in openai["keys"]]
    _put(alice, "prod", "provider/openai", openai, "pin the endpoint")


def _staging(api: httpx.Client) -> None:
    """Staging is ahead of prod: another router, a flag fully rolled out."""
    _catalogue(api, "staging")
    _put(api, "staging", "router/default", {"default_strategy": "leastlatency"}, "try latency")
    flag = {**FLAGS["new-ui"], "rollout_percent": 100}
    _put(api, "staging", "feature_flag/new-ui", flag, "everyone in staging")
    _put(api, "staging", "feature_flag/voice-mode", {"enabled": True}, "new in staging")
    _put(api, "dev", "router/default", {"default_strategy": "random"}, "dev sandbox")
    _put(api, "dev", "feature_flag/voice-mode", {"enabled": True}, "prototype")


def _schedule(api: httpx.Client) -> None:
    due = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    body = {
        "area": "feature_flag",
        "key": "new-ui",
        "operation": "patch",
        "value": {"rollout_percent": 50},
        "due_at": due.isoformat(),
        "reason": "next rollout step, after the error budget review",
    }
    answer = api.post("/v1/envs/prod/scheduled", json=body)
    assert answer.status_code == 201, answer.text


def fill(console: Console) -> None:
    """Fill the store behind ``console`` (prod, staging, dev) as described above."""
    alice = _client(console, console.token("alice", "writer"))
    bob = _client(console, console.token("bob", "writer"))
    with alice, bob, console.api() as admin:
        _catalogue(alice, "prod")
        _router_history(bob, "prod")
        motd = {"value": "Maintenance Sunday 02:00 UTC"}
        _put(admin, "prod", "global_setting/motd", motd, "weekend notice")
        body = {"name": SNAPSHOT, "reason": "state shipped with release 2026-11"}
        answer = admin.post("/v1/envs/prod/snapshots", json=body)
        assert answer.status_code == 201, answer.text
        _after_snapshot(alice, bob)
        _staging(bob)
        _schedule(alice)
        answer = admin.post("/v1/verify", json={"all_envs": True})
        assert answer.status_code == 200, answer.text
