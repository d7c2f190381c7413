"""A Redis mirror in a process of its own, configured by ``CONDUIT_CONFIG_*`` variables,
running until SIGTERM (exit 0) or SIGKILL: what the kill test kills.

Run as ``python -m tests.infrastructure.cluster.mirror_worker`` from the repository root.
"""

from __future__ import annotations

import signal
import sys
import threading

from infrastructure.bootstrap import open_store
from infrastructure.cluster.redis_mirror import open_mirror
from infrastructure.settings import load_settings


def main() -> int:
    """Run the mirror until SIGTERM; 2 when no Redis URL is configured."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = load_settings()
    with open_store(settings) as store:
        mirror = open_mirror(settings, store)
        if mirror is None:
            return 2
        try:
            mirror.run(stop)
        finally:
            mirror.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
