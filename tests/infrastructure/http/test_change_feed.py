"""The change feed that wakes open streams: a notification that arrives while a stream
is reading is not lost (the stream would otherwise sleep until its keep-alive)."""

from __future__ import annotations

import asyncio
import threading

from infrastructure.http.changes import ChangeFeed


def test_a_notification_during_a_read_wakes_the_next_wait_at_once() -> None:
    async def run() -> tuple[bool, float]:
        feed = ChangeFeed()
        feed.bind(asyncio.get_running_loop())
        seen = feed.generation
        # The projection thread notifies while the stream is between its read and its wait.
        threading.Thread(target=feed.notify).start()
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        woke = await feed.wait(10.0, since=seen)
        return woke, loop.time() - started

    woke, waited = asyncio.run(run())
    assert woke is True
    assert waited < 1.0


def test_without_a_notification_the_wait_times_out() -> None:
    async def run() -> tuple[bool, int]:
        feed = ChangeFeed()
        feed.bind(asyncio.get_running_loop())
        return await feed.wait(0.05, since=feed.generation), feed.generation

    assert asyncio.run(run()) == (False, 0)


def test_a_notification_while_waiting_wakes_the_wait() -> None:
    async def run() -> tuple[bool, int]:
        feed = ChangeFeed()
        loop = asyncio.get_running_loop()
        feed.bind(loop)
        loop.call_later(0.05, feed.notify)
        return await feed.wait(10.0, since=feed.generation), feed.generation

    assert asyncio.run(run()) == (True, 1)
