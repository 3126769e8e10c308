"""The queue between the client and the app: order, putting back, waiting, and long backlogs."""

from __future__ import annotations

import anyio
import pytest

from playground._inprocess.channel import TIMEOUT, Channel

pytestmark = pytest.mark.anyio


def test_items_come_out_in_the_order_they_went_in() -> None:
    channel: Channel[int] = Channel()
    assert not channel and channel.get_nowait() is None
    for i in range(5):
        channel.put(i)
    assert channel
    assert [channel.get_nowait() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert not channel and channel.get_nowait() is None


def test_interleaved_puts_and_takes_keep_the_order() -> None:
    channel: Channel[int] = Channel()
    taken: list[int | None] = []
    for i in range(1_000):
        channel.put(i)
        if i % 3 == 0:
            taken.append(channel.get_nowait())
    while channel:
        taken.append(channel.get_nowait())
    assert taken == list(range(1_000))


def test_a_taken_item_is_released_at_once() -> None:
    class Item:
        pass

    channel: Channel[Item] = Channel()
    first, second = Item(), Item()
    channel.put(first)
    channel.put(second)
    assert channel.get_nowait() is first
    assert not any(item is first for item in list.__iter__(channel))
    assert "first" not in repr(channel) and repr(channel).startswith("Channel([")


def test_put_back_returns_an_item_to_the_front() -> None:
    channel: Channel[str] = Channel()
    channel.put_back("only")  # onto an empty channel
    assert channel.get_nowait() == "only" and not channel
    for item in ("a", "b", "c"):
        channel.put(item)
    assert channel.get_nowait() == "a"
    channel.put_back("a again")  # into the slot a take left behind
    channel.put_back("before that")  # in front of everything
    assert [channel.get_nowait() for _ in range(4)] == ["before that", "a again", "b", "c"]
    assert not channel


def test_a_long_backlog_drains_in_order_without_moving_every_item_on_each_take() -> None:
    """A client that sends 200,000 messages before the app reads any. Taking from the front by
    moving all the rest would cost time in the square of the backlog; instead the taken items are
    dropped in bulk once they are half the list, so the list never holds much more than twice what
    is still waiting."""
    channel: Channel[int] = Channel()
    count = 200_000
    for i in range(count):
        channel.put(i)
    for expected in range(count):
        assert channel.get_nowait() == expected
        waiting = count - expected - 1
        assert list.__len__(channel) <= 2 * waiting + 64
    assert not channel and list.__len__(channel) == 0


async def put_after(delay: float, channel: Channel[str], item: str) -> None:
    await anyio.sleep(delay)
    channel.put(item)


async def test_get_waits_for_a_put_and_times_out_without_one() -> None:
    channel: Channel[str] = Channel()
    assert await channel.get(0.05) is TIMEOUT
    assert await channel.wait(0.05) is False

    async with anyio.create_task_group() as group:
        group.start_soon(put_after, 0.05, channel, "late")
        assert await channel.get(5) == "late"


async def test_arrival_wakes_on_the_next_put() -> None:
    channel: Channel[str] = Channel()
    async with anyio.create_task_group() as group:
        group.start_soon(put_after, 0.02, channel, "here")
        with anyio.fail_after(5):
            while not channel:
                await channel.arrival()
    assert channel.get_nowait() == "here"


async def test_a_cancelled_arrival_does_not_stop_the_next_reader() -> None:
    channel: Channel[str] = Channel()
    with anyio.move_on_after(0.02):
        await channel.arrival()  # the reader is cancelled while waiting
    async with anyio.create_task_group() as group:
        group.start_soon(put_after, 0.02, channel, "for the next reader")
        with anyio.fail_after(5):
            assert await channel.get(5) == "for the next reader"
