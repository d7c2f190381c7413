"""The decisions of set, patch, delete, undelete and rollback (domain.decisions), and the
scheduler applying them (no database; a reversible fake codec)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain import decisions, errors
from domain.address import Address
from domain.areas import ProviderConfig, RouterConfig
from domain.areas.base import AreaModel
from domain.areas.scheduled_change import ScheduledChange
from domain.decisions import DecisionRules, decide_patch, decide_set
from domain.entry import ConfigEntry, Provenance
from domain.errors import EntryStateError, InvalidValueError, NotFoundError, SecretKeyError
from domain.scheduling import target_after
from domain.secrets import REDACTED, get_path, sealing_paths
from domain.values import JsonObject
from tests.domain.test_secrets import FakeCodec, enc

ROUTER = Address("prod", "router", "default")
OPENAI = Address("prod", "provider", "openai")
WHO = Provenance(actor="alice", source="cli", correlation_id="c-1")
ROUTER_RULES = DecisionRules(RouterConfig)


def provider(api_key: str) -> JsonObject:
    return {"provider_type": "openai", "keys": [{"name": "main", "api_key": api_key}]}


def stored(address: Address, value: JsonObject) -> ConfigEntry:
    """An entry as loaded: created, its event already saved."""
    entry = ConfigEntry.create(address, value, WHO, 1)
    entry.collect_events()
    return entry


def deleted(address: Address, value: JsonObject) -> ConfigEntry:
    entry = stored(address, value)
    entry.delete(WHO, 1)
    entry.collect_events()
    return entry


class UnknownKey:
    """The store's check for a process whose key it does not know: a value that keeps a
    stored secret is refused. Counts what it was asked about."""

    def __init__(self) -> None:
        self.asked: list[JsonObject] = []

    def __call__(self, instance: AreaModel, sparse: JsonObject) -> None:
        self.asked.append(dict(sparse))
        if any(get_path(sparse, p) == REDACTED for p in sealing_paths(instance, sparse)):
            raise SecretKeyError("this process's secret key is new to this store")


def provider_rules(keeps_check: Any = None) -> DecisionRules:
    if keeps_check is None:
        return DecisionRules(ProviderConfig, codec=FakeCodec())
    return DecisionRules(ProviderConfig, codec=FakeCodec(), keeps_check=keeps_check)


def test_set_creates_replaces_and_appends_nothing_for_the_same_value() -> None:
    created = decide_set(None, ROUTER, {"max_retries": 2}, who=WHO, rules=ROUTER_RULES)
    assert (created.version, created.value) == (1, {"max_retries": 2})
    entry = stored(ROUTER, {"max_retries": 2})
    assert not decide_set(
        entry, ROUTER, {"max_retries": 2}, who=WHO, rules=ROUTER_RULES
    ).pending_events
    decide_set(entry, ROUTER, {"max_retries": 3}, who=WHO, rules=ROUTER_RULES)
    assert [type(e).__name__ for e in entry.collect_events()] == ["ValueReplaced"]
    gone = deleted(ROUTER, {"max_retries": 2})
    assert not decide_set(gone, ROUTER, {"max_retries": 2}, who=WHO, rules=ROUTER_RULES).deleted


def test_set_seals_plaintext_and_keeps_a_stored_secret() -> None:
    rules = provider_rules()
    entry = decide_set(None, OPENAI, provider("sk-1"), who=WHO, rules=rules)
    assert entry.value["keys"][0]["api_key"] == enc("sk-1")
    entry.collect_events()
    decide_set(entry, OPENAI, {**provider(REDACTED), "enabled": False}, who=WHO, rules=rules)
    assert (entry.value["keys"][0]["api_key"], entry.value["enabled"]) == (enc("sk-1"), False)


def test_a_kept_secret_is_refused_by_the_keeps_check_of_set_and_patch() -> None:
    check = UnknownKey()
    rules = provider_rules(check)
    entry = stored(OPENAI, {**provider(enc("sk-1"))})
    with pytest.raises(SecretKeyError, match="new to this store"):
        decide_set(entry, OPENAI, provider(REDACTED), who=WHO, rules=rules)
    with pytest.raises(SecretKeyError, match="new to this store"):
        decide_patch(entry, OPENAI, {"keys": provider(REDACTED)["keys"]}, who=WHO, rules=rules)
    assert not entry.pending_events
    # A new plaintext is the codec's to refuse: the check asks only about kept secrets.
    decide_set(entry, OPENAI, provider("sk-2"), who=WHO, rules=rules)
    assert len(check.asked) == 3 and entry.value["keys"][0]["api_key"] == enc("sk-2")


def test_patch_merges_into_a_live_entry_and_must_be_an_object() -> None:
    entry = stored(ROUTER, {"max_retries": 2})
    decide_patch(entry, ROUTER, {"max_retries": 4}, who=WHO, rules=ROUTER_RULES)
    assert [type(e).__name__ for e in entry.collect_events()] == ["ValueChanged"]
    with pytest.raises(InvalidValueError) as info:
        decide_patch(None, ROUTER, [1], who=WHO, rules=ROUTER_RULES)  # before "not found"
    assert info.value.errors[0].field == "patch"
    for missing in (None, deleted(ROUTER, {"max_retries": 2})):
        with pytest.raises(NotFoundError):
            decide_patch(missing, ROUTER, {"max_retries": 1}, who=WHO, rules=ROUTER_RULES)


def test_delete_needs_a_live_entry() -> None:
    entry = decisions.decide_delete(stored(ROUTER, {}), ROUTER, who=WHO, rules=ROUTER_RULES)
    assert entry.deleted
    for missing in (None, deleted(ROUTER, {})):
        with pytest.raises(NotFoundError):
            decisions.decide_delete(missing, ROUTER, who=WHO, rules=ROUTER_RULES)


def test_undelete_revalidates_the_last_value() -> None:
    entry = decisions.decide_undelete(
        deleted(ROUTER, {"max_retries": 2}), ROUTER, who=WHO, rules=ROUTER_RULES
    )
    assert not entry.deleted and entry.value == {"max_retries": 2}
    with pytest.raises(InvalidValueError):  # rules made stricter since it was stored
        decisions.decide_undelete(
            deleted(ROUTER, {"retired": 1}), ROUTER, who=WHO, rules=ROUTER_RULES
        )
    with pytest.raises(EntryStateError):
        decisions.decide_undelete(stored(ROUTER, {}), ROUTER, who=WHO, rules=ROUTER_RULES)
    with pytest.raises(NotFoundError):
        decisions.decide_undelete(None, ROUTER, who=WHO, rules=ROUTER_RULES)


def history(*values: JsonObject | None) -> list[ConfigEntry]:
    """The entry as loaded at each version: a value, or ``None`` for a deletion."""
    entry = stored(OPENAI, values[0] or {})
    states = [copy.deepcopy(entry)]
    for value in values[1:]:
        if value is None:
            entry.delete(WHO, 1)
        else:
            entry.set(value, WHO, 1)
        entry.collect_events()
        states.append(copy.deepcopy(entry))
    return states


def rollback(states: list[ConfigEntry], target: int, rules: DecisionRules) -> ConfigEntry:
    return decisions.decide_rollback(
        states[-1], OPENAI, target, earlier=lambda v: states[v - 1], who=WHO, rules=rules
    )


def test_rollback_to_a_readable_earlier_value() -> None:
    rules = provider_rules()
    states = history(provider(enc("sk-1")), None, provider(enc("sk-2")), None)
    with pytest.raises(EntryStateError, match="deleted state"):
        rollback(states, 2, rules)
    with pytest.raises(NotFoundError, match="no version 5"):
        rollback(states, 5, rules)
    back = rollback(states, 3, rules)  # brings the deleted entry back
    assert (back.version, back.value, back.deleted) == (5, provider(enc("sk-2")), False)
    assert not rollback(
        history(provider(enc("sk-1")), provider(enc("sk-1"))), 1, rules
    ).pending_events


def test_rollback_never_back_to_a_secret_the_codec_cannot_open() -> None:
    states = history(provider("enc:v1:not-ours"), provider(enc("sk-2")))
    with pytest.raises(SecretKeyError, match=r"secret keys\.0\.api_key"):
        rollback(states, 1, provider_rules())
    assert not states[-1].pending_events


def test_check_expected() -> None:
    decisions.check_expected(None, ROUTER, None)
    decisions.check_expected(None, ROUTER, 0)
    decisions.check_expected(stored(ROUTER, {}), ROUTER, 1)
    for entry, expected in ((None, 1), (stored(ROUTER, {}), 0), (stored(ROUTER, {}), 2)):
        with pytest.raises(errors.VersionConflictError):
            decisions.check_expected(entry, ROUTER, expected)


def scheduled(operation: str, value: JsonObject | None) -> ScheduledChange:
    return ScheduledChange.model_validate(
        {
            "environment": "prod",
            "area": "provider",
            "key": "openai",
            "operation": operation,
            "value": value,
            "due_at": "2030-01-01T12:00:00+00:00",
            "requested_by": "alice",
        }
    )


def test_the_scheduler_applies_the_same_keeps_check() -> None:
    """Changed: a scheduled set or patch that keeps a stored secret is refused, as a
    direct write is, by a process whose key the store does not know (it was applied)."""
    rules = provider_rules(UnknownKey())
    entry = stored(OPENAI, provider(enc("sk-1")))
    for change in (
        scheduled("set", {**provider(REDACTED), "enabled": False}),
        scheduled("patch", {"enabled": False, "keys": provider(REDACTED)["keys"]}),
    ):
        with pytest.raises(SecretKeyError, match="new to this store"):
            target_after(rules, change, entry, who=WHO)
    assert not entry.pending_events
    applied = target_after(provider_rules(), scheduled("patch", {"enabled": False}), entry, who=WHO)
    assert applied.value == {**provider(enc("sk-1")), "enabled": False}
