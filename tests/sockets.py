"""Sockets in tests: a free port on 127.0.0.1 (nothing else is ever bound), and the count of this
process's open file descriptors, each socket one of them, to show that none is left open."""

from __future__ import annotations

import os
import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
