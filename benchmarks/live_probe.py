"""A second process holding a live cache, for P8 and M1 (run by benchmarks.live_figures).

    python -m benchmarks.live_probe ENVIRONMENT

Settings come from the ``CONDUIT_CONFIG_`` variables. Prints one JSON line when ready
(``{"ready": position, "rss_before": bytes, "rss": bytes, "entries": n}``), then one line
per change (``{"key": ..., "at": time.time()}``) until stdin closes.
"""

from __future__ import annotations

import sys
import time

import orjson
import psutil

from infrastructure.client import LiveChange, connect


def _say(data: object) -> None:
    sys.stdout.write(orjson.dumps(data).decode() + "\n")
    sys.stdout.flush()


def main(environment: str) -> None:
    """Hold a client, report its memory, then report each change's arrival time."""
    process = psutil.Process()
    before = process.memory_info().rss
    with connect(environment, last_known_good=None) as client:
        entries = sum(len(client.view.area(area)) for area in client.view.registry.names())

        def arrived(change: LiveChange) -> None:
            _say({"key": change.key, "at": time.time()})

        with client.on_change(arrived):
            _say(
                {
                    "ready": client.position,
                    "rss_before": before,
                    "rss": process.memory_info().rss,
                    "entries": entries,
                }
            )
            sys.stdin.read()  # until the runner closes our stdin


if __name__ == "__main__":
    main(sys.argv[1])
