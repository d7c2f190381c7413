"""Secrets attacked at the store (an adversarial review of issue 14): an unlucky operator's
locked reveal table, and other ways a secret could be shown or kept where it must not."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from domain.errors import StorageError
from infrastructure.store import ConfigStore
from infrastructure.store.reveals import Revealed, Revealer, reveal_log

GATEWAY = Revealer(actor="gateway", role="service", origin="10.0.0.7", via="get")


def test_a_reveal_whose_table_stays_locked_fails_closed_instead_of_hanging(
    store: ConfigStore, database_url: str, schema: str
) -> None:
    # Was: the INSERT waited for the lock as long as it was held (a request thread per
    # reveal, each hanging); now it gives up like an append does and nothing is revealed.
    with psycopg.connect(database_url) as holder:
        holder.execute(f'LOCK TABLE "{schema}".cc_reveals IN ACCESS EXCLUSIVE MODE')
        with ThreadPoolExecutor(1) as pool:
            done = pool.submit(
                reveal_log(store).record, GATEWAY, [Revealed("prod", "provider", "openai", 1)]
            )
            try:
                # Far beyond the lock timeout: only a wait that never ends reaches it.
                with pytest.raises(StorageError, match="could not record the reveal"):
                    done.result(timeout=120)
            finally:
                holder.rollback()  # never leave the worker waiting on a failed assertion
