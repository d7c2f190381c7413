"""Property: any sequence of commands on one entry reads back like a plain in-memory model."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.address import Address
from domain.entry import Provenance
from domain.errors import ConfigStoreError
from domain.values import value_hash
from tests.conftest import StoreOpener

WHO = Provenance(actor="prop", source="api", correlation_id="p")
FIELDS = {
    "default_strategy": st.sampled_from(["simple", "random", "priority"]),
    "max_retries": st.integers(0, 10),
    "fallbacks_enabled": st.booleans(),
}
values = st.fixed_dictionaries({}, optional=FIELDS)
patches = st.fixed_dictionaries(
    {}, optional={k: st.one_of(st.none(), v) for k, v in FIELDS.items()}
)
commands = st.lists(
    st.one_of(
        st.tuples(st.just("set"), values),
        st.tuples(st.just("patch"), patches),
        st.tuples(st.just("rollback"), st.integers(1, 30)),
        st.tuples(st.just("delete"), st.none()),
        st.tuples(st.just("undelete"), st.none()),
    ),
    min_size=1,
    max_size=25,
)


class Model:
    """The expected behaviour, in memory: a list of (value, deleted) per version."""

    def __init__(self) -> None:
        self.versions: list[tuple[dict[str, Any], bool]] = []

    def apply(self, command: str, arg: Any) -> bool:
        """Return whether the command should append a version."""
        current, deleted = self.versions[-1] if self.versions else ({}, True)
        exists = bool(self.versions)
        if command == "set":
            if exists and arg == current and not deleted:
                return False
            return self._append(dict(arg), False)
        if command == "patch":
            if not exists or deleted:
                return False
            merged = {k: v for k, v in {**current, **arg}.items() if v is not None}
            return merged != current and self._append(merged, False)
        if command == "rollback":
            if not exists or arg > len(self.versions) or self.versions[arg - 1][1]:
                return False
            target = self.versions[arg - 1][0]
            if target == current and not deleted:
                return False  # already that value: nothing to append
            return self._append(dict(target), False)
        if command == "delete":
            return exists and not deleted and self._append(current, True)
        return exists and deleted and self._append(current, False)

    def _append(self, value: dict[str, Any], deleted: bool) -> bool:
        self.versions.append((value, deleted))
        return True


def _run(store: Any, address: Address, command: str, arg: Any) -> None:
    if command == "set":
        store.set(address, arg, provenance=WHO)
    elif command == "patch":
        store.patch(address, arg, provenance=WHO)
    elif command == "rollback":
        store.rollback(address, to_version=arg, provenance=WHO)
    elif command == "delete":
        store.delete(address, provenance=WHO)
    else:
        store.undelete(address, provenance=WHO)


def _check(open_test_store: StoreOpener, interval: int, sequence: list[Any]) -> None:
    with open_test_store(snapshot_interval=interval) as store:
        # Examples share the test's schema (and may repeat): a fresh environment each time.
        address = Address(f"e{uuid.uuid4().hex}", "router", "default")
        model = Model()
        for command, arg in sequence:
            expected = model.apply(command, arg)
            before = store.projections.head()
            try:
                _run(store, address, command, arg)
            except ConfigStoreError:
                assert not expected, (command, arg)
            assert (store.projections.head() > before) == expected, (command, arg)
        for version, (value, deleted) in enumerate(model.versions, start=1):
            view = store.get(address, version=version, include_deleted=True)
            assert (view.stored, view.deleted) == (value, deleted)
            assert view.value_hash == value_hash(value)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=commands)
def test_replay_matches_model_with_snapshots(open_test_store: StoreOpener, sequence: Any) -> None:
    _check(open_test_store, 3, sequence)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=commands)
def test_replay_matches_model_without_snapshots(
    open_test_store: StoreOpener, sequence: Any
) -> None:
    _check(open_test_store, 100_000, sequence)
