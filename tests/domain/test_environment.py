"""Whole-environment states in memory: replay, live view, diff, restore and apply plans."""

from __future__ import annotations

from typing import Any, cast

from domain.address import Address
from domain.entry import ConfigEntry, Provenance
from domain.environment import (
    Change,
    EntryState,
    EnvState,
    advance,
    apply_plan,
    diff_states,
    live,
    restore_plan,
)
from domain.values import apply_json_patch

WHO = Provenance(actor="alice", source="test", correlation_id="c-1")


def entry(
    area: str, key: str, stored: dict[str, Any], *, version: int = 1, deleted: bool = False
) -> EntryState:
    return EntryState(area, key, version, version * 10, stored, deleted)


def state(*entries: EntryState) -> EnvState:
    return {(e.area, e.key): e for e in entries}


def events_of(item: ConfigEntry) -> list[ConfigEntry.Event]:
    return cast("list[ConfigEntry.Event]", item.collect_events())


def replay(events: list[ConfigEntry.Event], into: EnvState, start: int = 100) -> None:
    for offset, event in enumerate(events):
        advance(
            into,
            area="feature_flag",
            key="f",
            version=event.originator_version,
            position=start + offset,
            event=event,
        )


def test_advance_follows_every_kind_of_event() -> None:
    flag = ConfigEntry.create(Address("prod", "feature_flag", "f"), {"enabled": True}, WHO, 1)
    env: EnvState = {}
    seen: list[tuple[int, int, dict[str, Any], bool]] = []

    def step() -> None:
        replay(events_of(flag), env, start=100 + len(seen))
        now = env["feature_flag", "f"]
        seen.append((now.version, now.position, now.stored, now.deleted))

    step()
    flag.patch({"enabled": True, "rollout_percent": 5}, WHO, 1)
    step()
    flag.set({"description": "d"}, WHO, 1)
    step()
    flag.delete(WHO, 1)
    step()
    flag.undelete(WHO, 1)
    step()
    flag.roll_back(1, {"enabled": True}, WHO, 1)
    step()
    flag.delete(WHO, 1)
    step()
    flag.set({"enabled": False}, WHO, 1)  # set on a deleted entry brings it back
    step()
    assert seen == [
        (1, 100, {"enabled": True}, False),
        (2, 101, {"enabled": True, "rollout_percent": 5}, False),
        (3, 102, {"description": "d"}, False),
        (4, 103, {"description": "d"}, True),
        (5, 104, {"description": "d"}, False),
        (6, 105, {"enabled": True}, False),
        (7, 106, {"enabled": True}, True),
        (8, 107, {"enabled": False}, False),
    ]
    assert list(env) == [("feature_flag", "f")]


def test_advance_keeps_other_entries_and_replays_like_the_aggregate() -> None:
    other = entry("router", "default", {"max_retries": 1})
    env = state(other)
    flag = ConfigEntry.create(Address("prod", "feature_flag", "f"), {"enabled": True}, WHO, 1)
    flag.patch({"rollout_percent": 7}, WHO, 1)
    flag.delete(WHO, 1)
    flag.undelete(WHO, 1)
    replay(events_of(flag), env)
    assert env["router", "default"] is other
    now = env["feature_flag", "f"]
    assert (now.stored, now.deleted, now.version) == (flag.value, flag.deleted, flag.version)


def test_entry_state_json_round_trip() -> None:
    original = entry("provider", "openai", {"keys": [{"name": "a", "api_key": "enc:v1:x"}]})
    gone = entry("feature_flag", "f", {}, version=3, deleted=True)
    for item in (original, gone):
        assert EntryState.from_json(item.to_json()) == item
    assert gone.to_json() == {"a": "feature_flag", "k": "f", "v": 3, "p": 30, "s": {}, "d": True}


def test_live_omits_deleted_entries_and_sorts() -> None:
    env = state(
        entry("router", "default", {"max_retries": 2}),
        entry("feature_flag", "z", {"enabled": True}),
        entry("feature_flag", "gone", {"enabled": True}, deleted=True),
        entry("feature_flag", "a", {}),
    )
    result = live(env)
    assert result == {
        "feature_flag": {"a": {}, "z": {"enabled": True}},
        "router": {"default": {"max_retries": 2}},
    }
    assert list(result) == ["feature_flag", "router"]
    assert list(result["feature_flag"]) == ["a", "z"]
    assert live({}) == {}
    assert live(state(entry("router", "default", {}, deleted=True))) == {}


def test_diff_states_lists_created_deleted_and_updated_live_entries() -> None:
    before = state(
        entry("feature_flag", "same", {"enabled": True}),
        entry("feature_flag", "changed", {"enabled": True}, version=2),
        entry("feature_flag", "removed", {"rollout_percent": 5}),
        entry("feature_flag", "back", {"enabled": True}, version=2, deleted=True),
        entry("feature_flag", "dead", {}, version=2, deleted=True),
    )
    after = state(
        entry("feature_flag", "same", {"enabled": True}),
        entry("feature_flag", "changed", {"enabled": False}, version=3),
        entry("feature_flag", "removed", {"rollout_percent": 5}, version=2, deleted=True),
        entry("feature_flag", "back", {"enabled": True}, version=3),
        entry("feature_flag", "dead", {}, version=2, deleted=True),
        entry("feature_flag", "new", {"description": "n"}),
    )
    changes = diff_states(before, after)
    assert [(c.key, c.action, c.version, c.value) for c in changes] == [
        ("back", "create", 3, {"enabled": True}),
        ("changed", "update", 3, {"enabled": False}),
        ("new", "create", 1, {"description": "n"}),
        ("removed", "delete", 2, None),
    ]
    ops = {c.key: c.changes for c in changes}
    assert ops["changed"] == [{"op": "replace", "path": "/enabled", "value": False}]
    assert ops["new"] == [{"op": "add", "path": "/description", "value": "n"}]
    assert ops["removed"] == [{"op": "remove", "path": "/rollout_percent"}]
    assert diff_states(after, after) == []
    # Backwards (a later point first): the entry is absent from ``after`` entirely.
    (back,) = diff_states(state(entry("router", "default", {"max_retries": 1})), {})
    assert (back.action, back.version, back.value) == ("delete", 0, None)


def test_restore_plan_reaches_the_target_with_compensating_steps() -> None:
    target = state(
        entry("feature_flag", "same", {"enabled": True}),
        entry("feature_flag", "edited", {"rollout_percent": 10}, version=1),
        entry("feature_flag", "removed", {"enabled": True}, version=2),
        entry("feature_flag", "removed_edited", {"enabled": True}, version=1),
        entry("feature_flag", "was_dead", {}, version=2, deleted=True),
    )
    current = state(
        entry("feature_flag", "same", {"enabled": True}),
        entry("feature_flag", "edited", {"rollout_percent": 90}, version=4),
        entry("feature_flag", "removed", {"enabled": True}, version=3, deleted=True),
        entry("feature_flag", "removed_edited", {"enabled": False}, version=3, deleted=True),
        entry("feature_flag", "was_dead", {"enabled": True}, version=3),
        entry("feature_flag", "created_since", {"description": "x"}, version=2),
        entry("feature_flag", "created_dead", {}, version=2, deleted=True),
    )
    steps = restore_plan(current, target)
    assert [(s.key, s.action, s.version, s.value, s.target_version) for s in steps] == [
        ("created_since", "delete", 2, None, None),
        ("edited", "rollback", 4, {"rollout_percent": 10}, 1),
        ("removed", "undelete", 3, {"enabled": True}, None),
        ("removed_edited", "rollback", 3, {"enabled": True}, 1),
        ("was_dead", "delete", 3, None, None),
    ]
    for step in steps:
        before = current[step.area, step.key]
        start = {} if before.deleted else before.stored
        assert apply_json_patch(start, step.changes) == (step.value or {})
    assert restore_plan(target, target) == []
    assert restore_plan(current, current) == []


def test_restore_plan_to_an_empty_environment_deletes_every_live_entry() -> None:
    current = state(
        entry("router", "default", {"max_retries": 1}),
        entry("feature_flag", "gone", {}, deleted=True),
    )
    (step,) = restore_plan(current, {})
    assert (step.area, step.key, step.action) == ("router", "default", "delete")
    # An entry the target knows but the current state does not cannot be planned.
    assert restore_plan({}, current) == []


def test_apply_plan_creates_updates_undeletes_and_lists_unchanged() -> None:
    current = state(
        entry("feature_flag", "same", {"enabled": True}, version=2),
        entry("feature_flag", "edit", {"enabled": True}, version=3),
        entry("feature_flag", "back", {"enabled": True}, version=4, deleted=True),
        entry("feature_flag", "back_new", {"enabled": True}, deleted=True),
        entry("feature_flag", "extra", {"enabled": True}),
        entry("feature_flag", "extra_dead", {}, deleted=True),
    )
    wanted: dict[tuple[str, str], dict[str, Any]] = {
        ("feature_flag", "same"): {"enabled": True},
        ("feature_flag", "edit"): {"rollout_percent": 3},
        ("feature_flag", "back"): {"enabled": True},
        ("feature_flag", "back_new"): {"enabled": False},
        ("router", "default"): {"max_retries": 4},
    }
    steps = apply_plan(current, wanted, prune=False)
    assert [(s.area, s.key, s.action, s.version, s.value) for s in steps] == [
        ("feature_flag", "back", "undelete", 4, {"enabled": True}),
        ("feature_flag", "back_new", "undelete", 1, {"enabled": False}),
        ("feature_flag", "edit", "update", 3, {"rollout_percent": 3}),
        ("feature_flag", "same", "unchanged", 2, {"enabled": True}),
        ("router", "default", "create", 0, {"max_retries": 4}),
    ]
    by_key = {s.key: s for s in steps}
    assert by_key["same"].changes == []
    assert by_key["default"].changes == [{"op": "add", "path": "/max_retries", "value": 4}]
    assert by_key["back"].changes == [{"op": "add", "path": "/enabled", "value": True}]
    pruned = apply_plan(current, wanted, prune=True)
    extra = [s for s in pruned if s not in steps]
    assert [(s.key, s.action, s.version, s.value) for s in extra] == [("extra", "delete", 1, None)]
    assert extra[0].changes == [{"op": "remove", "path": "/enabled"}]


def test_apply_plan_of_an_empty_document() -> None:
    current = state(entry("feature_flag", "a", {"enabled": True}))
    assert apply_plan(current, {}, prune=False) == []
    assert [s.action for s in apply_plan(current, {}, prune=True)] == ["delete"]
    assert apply_plan({}, {}, prune=True) == []


def test_change_to_json_leaves_out_the_value() -> None:
    plain = Change("feature_flag", "f", "update", 2, [], {"enabled": True})
    assert plain.to_json() == {
        "area": "feature_flag",
        "key": "f",
        "action": "update",
        "version": 2,
        "changes": [],
    }
    rolled = Change("provider", "p", "rollback", 5, [], {"keys": ["enc:v1:x"]}, 2)
    assert rolled.to_json()["target_version"] == 2
    assert "value" not in rolled.to_json()
    assert "enc:v1:x" not in repr(rolled.to_json())
