"""The check of the chain, one log position at a time (fed by :func:`check_chain`).

A link is checked against the previous link as stored, so one modified event is reported
once, not at every later link. An event without a link gets a recomputed link, so a
link deleted alone is reported once too.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from domain.parsing import MalformedInputError
from domain.parsing import position as parse_position
from infrastructure.persistence.audit import ZERO_LINK, AuditKey, canonical, plain_link

#: Findings kept per kind of problem (the first ones, by position), and a count of the rest.
MAX_PER_PROBLEM = 20
#: Links that failed recently, kept to recognise two events that traded places.
_SUSPECTS = 32
KEY = "CONDUIT_CONFIG_AUDIT_KEY"
_HASH = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class ChainHead:
    """A position of the chain and its link (hex): a head to record and check later.

    ``key_id`` (not part of the text form, nor of equality) is the audit key's id of a
    keyed link, ``None`` for a plain one or when parsed from text."""

    position: int
    hash: str
    key_id: str | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        """``POSITION:HASH``, the form ``log head`` prints and ``verify --against`` takes."""
        return f"{self.position}:{self.hash}"

    @property
    def keyed(self) -> bool:
        """Whether the link is keyed with an audit key (HMAC)."""
        return self.key_id is not None

    @classmethod
    def parse(cls, text: str, *, name: str = "head") -> ChainHead:
        """Read ``POSITION:HASH``; raises :class:`MalformedInputError` naming ``name``."""
        where, colon, digest = text.strip().partition(":")
        if not colon or not _HASH.fullmatch(digest):
            raise MalformedInputError(
                name, "must be POSITION:HASH (a position and 64 hex digits, as `log head` prints)"
            )
        at = parse_position(where, name=name)
        if at < 1:  # a head is a link: the log's positions start at 1
            raise MalformedInputError(name, "the position of a head is at least 1")
        return cls(at, digest.lower())


@dataclass(frozen=True)
class ChainFinding:
    """One problem of the chain, at the first position it shows at."""

    position: int
    problem: str


@dataclass
class ChainReport:
    """What :func:`check_chain` found. ``start``: first chained position (events before
    it predate the chain); ``keyed_from``: first keyed link; ``unchained``: events after
    ``start`` with no link; ``links``: links checked."""

    start: int | None = None
    keyed_from: int | None = None
    head: ChainHead | None = None
    unchained: int = 0
    links: int = 0
    findings: list[ChainFinding] = field(default_factory=list)


@dataclass(frozen=True)
class LogRow:
    """One position of the log: its event (``entry_id`` ``None`` if there is none), the
    index time and the link (``hash`` ``None`` if there is none)."""

    position: int
    entry_id: UUID | None
    version: int | None
    topic: str | None
    state: bytes | None
    recorded_at: datetime | None
    hash: bytes | None
    key_id: str | None

    def event(self) -> bytes:
        """The canonical bytes a link covers (an event with an index row only)."""
        assert self.entry_id is not None and self.recorded_at is not None
        return canonical(
            self.position,
            self.entry_id,
            self.version or 0,
            recorded_at=self.recorded_at,
            topic=self.topic or "",
            state=self.state or b"",
        )


@dataclass(frozen=True)
class _Suspect:
    row: LogRow
    previous: tuple[bytes, ...]


class ChainChecker:
    """Checks rows fed in position order; :meth:`finish` returns the report."""

    def __init__(self, *, key: AuditKey | None, against: ChainHead | None) -> None:
        self.key = key
        self.against = against
        self.report = ChainReport()
        self._previous = ZERO_LINK  # the last stored link
        self._recomputed: bytes | None = None  # through events without links since
        self._gap = False  # an event and its link are gone just before
        self._keyed = False
        self._last_key: str | None = None  # the key id of the last link
        self._last_time: tuple[int, datetime] | None = None
        self._counts: dict[str, int] = {}
        self._found: dict[str, list[ChainFinding]] = {}
        self._suspects: OrderedDict[int, _Suspect] = OrderedDict()
        self._against_seen = False

    def _add(self, kind: str, position: int, problem: str) -> None:
        count = self._counts[kind] = self._counts.get(kind, 0) + 1
        if count <= MAX_PER_PROBLEM:
            self._found.setdefault(kind, []).append(ChainFinding(position, problem))

    def _link(self, key_id: str | None, previous: bytes, event: bytes) -> bytes | None:
        """The link over ``event``; ``None`` when it is keyed with a key not held."""
        if key_id is None:
            return plain_link(previous, event)
        if self.key is None or self.key.id != key_id:
            return None
        return self.key.link(previous, event)

    def feed(self, row: LogRow) -> None:
        """Check the next position of the log."""
        if self.against is not None and row.position == self.against.position:
            self._compare(row)
        if row.entry_id is not None and row.recorded_at is not None:
            self._in_order(row.position, row.recorded_at)
        if row.hash is None:
            self._unlinked(row) if row.entry_id is not None else self._lost(row)
            return
        self.report.head = ChainHead(row.position, row.hash.hex(), row.key_id)
        self.report.links += 1
        if row.entry_id is None:
            self._add("deleted", row.position, "link without event: the event was deleted")
        elif self._kind_ok(row):
            self._check(row)
        self._previous, self._recomputed, self._gap = row.hash, None, False
        self._last_key = row.key_id

    def _kind_ok(self, row: LogRow) -> bool:
        """Note keyed links and downgrades; ``False`` when the link cannot be checked."""
        if row.key_id is None:
            if self._last_key is not None:  # once where it turns plain, not at every link
                self._add(
                    "downgrade",
                    row.position,
                    "plain link after keyed links: the chain was rewritten without the audit key",
                )
            return True
        self._keyed = True
        if self.report.keyed_from is None:
            self.report.keyed_from = row.position
        if self.key is not None and self.key.id == row.key_id:
            return True
        if "unverifiable" in self._counts:  # said once for the whole chain
            return False
        held = f"{KEY} is audit key {self.key.id}" if self.key else f"{KEY} is not set"
        self._add(
            "unverifiable",
            row.position,
            f"cannot check keyed links without {KEY}: they are keyed with audit key"
            f" {row.key_id} and {held}",
        )
        return False

    def _check(self, row: LogRow) -> None:
        if row.recorded_at is None:
            self._add("unindexed", row.position, "event without index row: link not checkable")
            return
        previous = (self._previous,) + ((self._recomputed,) if self._recomputed else ())
        event = row.event()
        if any(self._link(row.key_id, p, event) == row.hash for p in previous):
            return
        if self._gap:  # explained by the deleted event just before (reported there)
            return
        if not self._reordered(row):
            self._suspects[row.position] = _Suspect(row, previous)
            if len(self._suspects) > _SUSPECTS:
                self._modified(self._suspects.popitem(last=False)[0])

    def _modified(self, position: int) -> None:
        self._add(
            "modified",
            position,
            "link does not match the event: the event was modified (or one just before it"
            " deleted or inserted)",
        )

    def _reordered(self, row: LogRow) -> bool:
        """Whether ``row`` holds the event (or the state) a failed link earlier was made
        over: two events traded places."""
        for position, suspect in self._suspects.items():
            mine = suspect.row
            whole = replace(
                mine, entry_id=row.entry_id, version=row.version, topic=row.topic, state=row.state
            )
            for event in (whole.event(), replace(mine, state=row.state).event()):
                if any(self._link(mine.key_id, p, event) == mine.hash for p in suspect.previous):
                    del self._suspects[position]
                    self._add(
                        "reordered",
                        position,
                        f"events out of order: the event recorded here is at position"
                        f" {row.position} now",
                    )
                    return True
        return False

    def _unlinked(self, row: LogRow) -> None:
        self.report.unchained += 1
        self._add(
            "unlinked",
            row.position,
            "event without link: inserted outside the store (or its link deleted)",
        )
        if row.recorded_at is None:
            self._recomputed = None
            return
        base = self._recomputed or self._previous
        self._recomputed = self._link(self._last_key, base, row.event())

    def _lost(self, row: LogRow) -> None:
        self._add(
            "deleted",
            row.position,
            "event and its link deleted (its index row remains)",
        )
        self._gap = True

    def _in_order(self, position: int, moment: datetime) -> None:
        if self._last_time is not None and moment < self._last_time[1]:
            self._add(
                "order",
                position,
                f"recorded before the event at position {self._last_time[0]}: events reordered",
            )
        self._last_time = (position, moment)

    def _compare(self, row: LogRow) -> None:
        assert self.against is not None
        self._against_seen = True
        if row.hash is None:
            problem = "no link at the recorded head's position: the event there was deleted"
        elif row.hash.hex() != self.against.hash:
            problem = "link differs from the recorded head: history up to it was rewritten"
        else:
            return
        self._add("against", row.position, problem)

    def finish(self, *, last_position: int, first_event: int | None) -> ChainReport:
        """The report, findings in position order (each kind's first ones, then a note of
        how many more)."""
        for position in list(self._suspects):
            self._modified(position)
        self._suspects.clear()
        if self.against is not None and not self._against_seen:
            if self.against.position > last_position:
                problem = "log is shorter than the recorded head (truncated?)"
            else:
                problem = "no link at the recorded head's position: the event there was deleted"
            self._add("against", self.against.position, problem)
        if self.key is not None and self.report.keyed_from is None and first_event is not None:
            self._add(
                "unkeyed",
                self.report.start if self.report.start is not None else first_event,
                f"{KEY} is set but no link is keyed: the chain was rewritten without the"
                " audit key, or nothing was written since the key was set",
            )
        findings = [f for found in self._found.values() for f in found]
        for kind, count in self._counts.items():
            if count > MAX_PER_PROBLEM:
                last = self._found[kind][-1]
                more = count - MAX_PER_PROBLEM
                findings.append(ChainFinding(last.position, f"... and {more} more like this"))
        self.report.findings = sorted(findings, key=lambda f: f.position)
        return self.report
