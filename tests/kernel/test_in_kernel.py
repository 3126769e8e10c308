"""What the client promises, shown where it matters: cells run in a real IPython kernel (ipykernel).

The kernel's own event loop is already running there and cells use top-level ``await``, so this is
where a client with its own thread or loop (or a hang with no timeout) would fail. One kernel serves
the whole module; each test runs its cells in it and fails with the cell's own traceback.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from ipython_kernel import CELL_TIMEOUT, REPO, Kernel


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    running = Kernel()
    try:
        running.run(
            """
            import asyncio, time
            import anyio
            from starlette.requests import Request
            from starlette.responses import PlainTextResponse, StreamingResponse
            from playground import Client, HTTPEndpoint, WebSocketEndpoint
            """
        )
        yield running
    finally:
        running.close()


def test_the_kernel_is_this_environments(kernel: Kernel) -> None:
    # The cells below test this checkout's package, in this interpreter.
    output = kernel.run(
        """
        import sys, playground
        print(sys.executable)
        print(playground.__file__)
        """
    )
    executable, package = output.split()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(package).resolve().is_relative_to(REPO)


def test_an_asyncio_queue_made_in_the_notebook_works_in_an_endpoint(kernel: Kernel) -> None:
    output = kernel.run(
        """
        jobs = asyncio.Queue()

        class Jobs(HTTPEndpoint):
            async def post(self, request):
                await jobs.put(await request.body())
                return PlainTextResponse(f"{jobs.qsize()} queued")

            async def get(self, request):
                return PlainTextResponse((await jobs.get()).decode())

        client = Client(Jobs)
        r = await client.post("/", content=b"first")
        assert r.text == "1 queued", r.text
        assert jobs.get_nowait() == b"first"

        # The endpoint waits on the notebook's queue while the notebook fills it.
        async def fill_later():
            await asyncio.sleep(0.05)
            await jobs.put(b"second")

        filler = asyncio.ensure_future(fill_later())
        r = await client.get("/")
        await filler
        assert r.text == "second", r.text
        print("queue ok")
        """
    )
    assert output.strip() == "queue ok"


def test_two_sessions_in_one_chat_room_broadcast_to_each_other(kernel: Kernel) -> None:
    output = kernel.run(
        """
        room = []

        class Chat(WebSocketEndpoint):
            encoding = "text"

            async def on_connect(self, websocket):
                await websocket.accept()
                room.append(websocket)

            async def on_receive(self, websocket, data):
                for member in room:
                    await member.send_text(f"{websocket.query_params['name']}: {data}")

            async def on_disconnect(self, websocket, close_code):
                room.remove(websocket)

        chat = Client(Chat)
        async with chat.websocket_connect("/?name=ann") as ann, chat.websocket_connect("/?name=bob") as bob:
            await ann.send_text("hello bob")
            assert await bob.receive_text() == "ann: hello bob"
            assert await ann.receive_text() == "ann: hello bob"
            await bob.send_text("hi ann")
            assert await ann.receive_text() == "bob: hi ann"
            assert await bob.receive_text() == "bob: hi ann"
        assert room == []
        assert ann.close_code == bob.close_code == 1000
        print("chat ok")
        """
    )
    assert output.strip() == "chat ok"


def test_a_hung_endpoint_times_out_and_leaves_no_task(kernel: Kernel) -> None:
    output = kernel.run(
        """
        class Hung(HTTPEndpoint):
            async def get(self, request):
                await asyncio.Event().wait()

        baseline = len(asyncio.all_tasks())
        started = time.perf_counter()
        try:
            await Client(Hung, timeout=1.0).get("/")
        except TimeoutError as exc:
            error = exc
        else:
            raise AssertionError("no TimeoutError")
        elapsed = time.perf_counter() - started
        assert 1.0 <= elapsed < 3.0, elapsed
        assert "response start" in str(error) and "await asyncio.Event().wait()" in str(error), str(error)
        assert len(asyncio.all_tasks()) == baseline, (asyncio.all_tasks(), baseline)
        print(f"timeout ok in {elapsed:.1f} s")
        """
    )
    assert output.strip().startswith("timeout ok in ")


def test_an_endless_sse_stream_read_three_events_at_a_time(kernel: Kernel) -> None:
    output = kernel.run(
        """
        import itertools

        class Ticks(HTTPEndpoint):
            async def get(self, request):
                async def events():
                    for n in itertools.count():
                        yield f"data: {n}\\n\\n"
                        await asyncio.sleep(0.001)

                return StreamingResponse(events(), media_type="text/event-stream")

        async def three(lines):
            got = []
            async for line in lines:
                if line.startswith("data: "):
                    got.append(int(line[6:]))
                    if len(got) == 3:
                        return got

        baseline = len(asyncio.all_tasks())
        async with Client(Ticks).stream("GET", "/") as r:
            lines = r.aiter_lines()
            assert await three(lines) == [0, 1, 2]
            assert await three(lines) == [3, 4, 5]
            assert await three(lines) == [6, 7, 8]
        assert len(asyncio.all_tasks()) == baseline
        print("sse ok")
        """
    )
    assert output.strip() == "sse ok"


@pytest.mark.parametrize("waiting_in", ["request", "websocket receive"])
def test_interrupting_the_kernel_stops_a_cell_awaiting_a_hung_app(kernel: Kernel, waiting_in: str) -> None:
    import time

    kernel.run(
        """
        class Stuck(HTTPEndpoint):
            async def get(self, request):
                await asyncio.sleep(600)

        class Mute(WebSocketEndpoint):
            async def on_receive(self, websocket, data):
                await asyncio.sleep(600)
        """
    )
    cell = {
        "request": "await Client(Stuck, timeout=60).get('/')",
        "websocket receive": """
            async with Client(Mute, timeout=60).websocket_connect('/ws') as ws:
                await ws.send_text('hi')
                await ws.receive_text()
            """,
    }[waiting_in]
    client = kernel.client
    started = time.monotonic()
    # stop_on_error=False: the error must not make the kernel abort the request sent right after it
    client.execute(textwrap.dedent(cell), store_history=False, stop_on_error=False)
    time.sleep(1.0)  # the cell is awaiting now, with 59 s of its timeout left
    kernel.manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=CELL_TIMEOUT)
    elapsed = time.monotonic() - started
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] in ("CancelledError", "KeyboardInterrupt")
    assert elapsed < 10, f"the interrupt took {elapsed:.1f} s to stop the cell (its timeout was 60 s)"
    # The app's task was cancelled with the cell: nothing is left running. Found by the private class's
    # name: the interrupted cell's own task lingers (ipykernel's doing), so a count of all tasks cannot say it.
    apps = "await asyncio.sleep(0.3); print([t for t in asyncio.all_tasks() if 'AppTask' in t.get_coro().__qualname__])"
    assert kernel.run(apps).strip() == "[]"


def test_a_traceback_shows_the_cell_and_the_app_not_the_clients_machinery(kernel: Kernel) -> None:
    ename, traceback = kernel.run_raising(
        """
        class Broken(HTTPEndpoint):
            async def get(self, request):
                raise ValueError("the handler's own mistake")

        await Client(Broken).get("/")
        """
    )
    assert ename == "ValueError"
    assert "await Client(Broken).get(\"/\")" in traceback  # the cell
    assert "in Broken.get" in traceback and "the handler's own mistake" in traceback  # the app
    assert "skipping hidden" in traceback
    for machinery in ("client.py", "_inprocess/transport.py", "_inprocess/http.py", "_inprocess/app_task.py"):
        assert f"playground/{machinery}" not in traceback, traceback


def test_a_websocket_error_shows_the_cell_and_the_app(kernel: Kernel) -> None:
    ename, traceback = kernel.run_raising(
        """
        class Grumpy(WebSocketEndpoint):
            encoding = "text"

            async def on_receive(self, websocket, data):
                raise KeyError(data)

        async with Client(Grumpy).websocket_connect("/ws") as ws:
            await ws.send_text("boom")
            await ws.receive_text()
        """
    )
    assert ename == "KeyError"
    assert "in Grumpy.on_receive" in traceback and "skipping hidden" in traceback
    for machinery in ("websocket.py", "_inprocess/websocket.py", "_inprocess/app_task.py"):
        assert f"playground/{machinery}" not in traceback, traceback
