"""``verify``: replay every entry and prove each event's value hash and each snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError

from domain.entry import ConfigEntry
from domain.environment import EntryState
from domain.replay import deleted_after, value_after
from domain.stored import StoredValueError
from domain.values import value_hash
from infrastructure.store.base import StoreBase, storage_errors
from infrastructure.store.findings import Finding

__all__ = ["Finding", "StoreVerifier", "VerifyReport"]


@dataclass
class VerifyReport:
    """What ``verify`` checked and what it found."""

    entries: int = 0
    events: int = 0
    snapshots: int = 0
    findings: list[Finding] = field(default_factory=list)


class StoreVerifier(StoreBase):
    """Replays the log to detect tampered or corrupted events and snapshots."""

    def verify(self, environment: str | None = None) -> VerifyReport:
        """Check every entry (of one environment, or all). Raises :class:`StorageError`."""
        report = VerifyReport()
        with storage_errors():
            entries = self.index.entries(environment)
        for entry_id, label in entries:
            report.entries += 1
            with storage_errors():
                self._verify_entry(entry_id, label, report)
        return report

    def _verify_entry(self, entry_id: UUID, label: str, report: VerifyReport) -> None:
        values: dict[int, Any] = {}
        value: Any = {}
        latest, environment = EntryState("", "", 0, 0, {}, False), ""
        try:
            for event in self.app.events.get(entry_id):
                assert isinstance(event, ConfigEntry.Event)
                report.events += 1
                value = value_after(value, event)
                values[event.originator_version] = value
                if isinstance(event, ConfigEntry.Created):
                    latest = replace(latest, area=event.area, key=event.key)
                    environment = event.environment
                latest = replace(
                    latest,
                    version=event.originator_version,
                    stored=value,
                    deleted=deleted_after(latest.deleted, event),
                )
                if _hash(value) != event.meta.value_hash:
                    report.findings.append(
                        Finding(label, event.originator_version, "value does not match its hash")
                    )
        except MapperDeserialisationError as exc:
            report.findings.append(Finding(label, None, f"event does not decode: {exc}"))
            return
        self._verify_snapshots(entry_id, label, values, report)
        if latest.area and not latest.deleted:
            self._verify_servable(environment, latest, label, report)

    def _verify_servable(
        self, environment: str, entry: EntryState, label: str, report: VerifyReport
    ) -> None:
        """The current value must be valid under today's rules (reads leave it out
        otherwise), its secrets must open with this store's key."""
        try:
            self.serving.entry(environment, entry, opened=True)
        except StoredValueError as exc:
            problem = f"stored value is not valid under the current rules: {exc.reason}"
            report.findings.append(Finding(label, entry.version, problem))

    def _verify_snapshots(
        self, entry_id: UUID, label: str, values: dict[int, Any], report: VerifyReport
    ) -> None:
        if self.app.snapshots is None:
            return
        try:
            snapshots = list(self.app.snapshots.get(entry_id))
        except MapperDeserialisationError as exc:
            report.findings.append(Finding(label, None, f"snapshot does not decode: {exc}"))
            return
        for snapshot in snapshots:
            report.snapshots += 1
            version = snapshot.originator_version
            state = getattr(snapshot, "state", {})
            if state.get("value") != values.get(version):
                report.findings.append(
                    Finding(label, version, "snapshot differs from the replayed events")
                )


def _hash(value: Any) -> str:
    try:
        return value_hash(value)
    except RecursionError:  # nested deeper than the encoder goes: cannot match
        return ""
