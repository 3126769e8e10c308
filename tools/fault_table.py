"""Write docs/faults.md by running every row of the fault matrix in tests/inprocess/test_faults.py.

The messages in the table are the ones the client really raises, so the doc cannot drift from the
code: ``python tools/fault_table.py`` rewrites it, ``python tools/fault_table.py --check`` fails
when it is out of date.

The last section, "Live server", is written by hand (what a user of ``serve()`` sees cannot be
produced by one call): the tool keeps it as it is, and checks that every test it names exists in
tests/live/test_live_reliability.py.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import anyio

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "faults.md"
LIVE_TESTS = ROOT / "tests" / "live" / "test_live_reliability.py"
LIVE_SECTION = "## Live server"

HEADER = """\
# Faults: what you see when an endpoint misbehaves

An app can break the ASGI protocol, hang, or crash. The client never hangs the kernel with it and never
hides what happened: each fault below raises one error, within the timeout (and the grace period when
the app has to be cancelled), and leaves no task of the app running.

- `playground.ASGIProtocolError` (a `RuntimeError`): the app broke the protocol; the message names
  the message or step that was wrong.
- `playground.AppTimeout` (a `TimeoutError`): the app did not do what the client waited for; `phase`
  names the wait and the message names the line the app was stuck on. The app is cancelled, except
  when it is idle in `receive()` on a WebSocket: then nothing is wrong with it and the session stays
  open.
- `playground.LifespanError` (a `RuntimeError`): lifespan startup or shutdown failed; the app's own
  exception is its `__cause__`.
- `playground.EventLoopBlocked` (an `AppTimeout`): the app blocked the event loop itself past the
  timeout (`time.sleep` or a long loop in an `async def` handler) and the client stopped it; a shorter
  block is an `EventLoopBlockedWarning`. asyncio only, so it is not a row below (the rows run on trio
  too): README.md, "When a kernel hangs", says what is seen, and `tests/inprocess/test_watchdog.py` and
  `tests/kernel/test_in_kernel_watchdog.py` show it.
- Otherwise the app's own exception, raised as itself (never wrapped in an `ExceptionGroup`) with the
  app's frames in its traceback. With `Client(app, raise_app_exceptions=False)` an HTTP crash becomes a
  500 response carrying it as `response.app_exception`.

The rows were produced with `Client(app, timeout={timeout}, grace={grace})` on asyncio, by
`tools/fault_table.py`, which runs the rows of `tests/inprocess/test_faults.py`; each row is the test
`tests/inprocess/test_faults.py::test_fault[asyncio-ID]` (and `[trio-ID]`). Line numbers in the messages point
into that file. A multi-line message is shortened to its first and last lines.

The last section, [Live server](#live-server), is about `serve()`: clients that vanish mid-request,
read slowly or come in crowds, and stopping the server under load.
"""

SECTIONS = {"protocol": "Protocol mistakes", "hang": "Hangs", "crash": "Crashes"}


def load_matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("test_faults", ROOT / "tests" / "inprocess" / "test_faults.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def printed(error: BaseException) -> str:
    """The last line of a traceback, as Python prints it; long messages folded to first … last line."""
    lines = str(error).strip().splitlines() or [""]
    message = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1].strip()}"
    return f"{type(error).__name__}: {message}"


def error_type(error: BaseException) -> str:
    import playground

    name = type(error).__name__
    if getattr(playground, name, None) is type(error):
        base = type(error).__mro__[1].__name__
        return f"`playground.{name}` ({base})"
    return f"`{name}` (the app's own)"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(matrix: ModuleType) -> str:
    out = [HEADER.format(timeout=matrix.TIMEOUT, grace=matrix.GRACE)]
    for kind, title in SECTIONS.items():
        out.append(f"## {title}\n")
        out.append("| Fault | Phase | Error | Message as printed | Test |")
        out.append("|---|---|---|---|---|")
        for fault in matrix.FAULTS:
            if fault.kind != kind:
                continue
            error, _ = anyio.run(matrix.run_fault, fault, backend="asyncio")
            if error is None:
                raise SystemExit(f"{fault.id}: no error raised")
            out.append(
                f"| {cell(fault.description)} | {fault.stage} | {error_type(error)} "
                f"| `{cell(printed(error))}` | `test_fault[asyncio-{fault.id}]` |"
            )
        out.append("")
    return "\n".join(out)


def kept_live_section() -> str:
    """The hand-written "Live server" section of the current doc, from its heading to the end."""
    text = DOC.read_text() if DOC.exists() else ""
    start = text.find(f"\n{LIVE_SECTION}\n")
    return text[start + 1:] if start >= 0 else ""


def missing_live_tests(section: str) -> list[str]:
    """Tests the section names (`test_name` or `test_name[id]`) that tests/live/test_live_reliability.py lacks."""
    source = LIVE_TESTS.read_text()
    functions = {node.name for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    missing = []
    for name, param_id in re.findall(r"`(test_\w+)(?:\[([\w.-]+)\])?`", section):
        if name not in functions or (param_id and f'"{param_id}"' not in source):
            missing.append(f"{name}[{param_id}]" if param_id else name)
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/faults.md is out of date")
    args = parser.parse_args()
    live = kept_live_section()
    missing = missing_live_tests(live)
    if missing:
        print(f"{DOC.relative_to(ROOT)}: the {LIVE_SECTION[3:]} section names tests that "
              f"{LIVE_TESTS.relative_to(ROOT)} lacks: {', '.join(missing)}")
        return 1
    text = render(load_matrix()) + ("\n" + live if live else "")
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC.relative_to(ROOT)} is out of date: run python tools/fault_table.py")
            return 1
        print(f"{DOC.relative_to(ROOT)} is up to date")
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
