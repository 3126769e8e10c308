"""The live server's listening socket, bound before uvicorn starts, and the check for loopback."""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (anything else makes ``serve()`` warn)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so a taken port is a clear error now and port 0 gets its number."""
    bind_host = LOOPBACK if host == "localhost" else host
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(bind_host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.getaddrinfo(bind_host, port, type=socket.SOCK_STREAM)[0][0]
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((bind_host, port))
    except OSError as exc:
        listener.close()
        raise OSError(exc.errno, f"cannot serve on {host}:{port}: {exc.strerror} (is another server, or one "
                                 "not stopped, using this port? port=0 picks a free one)") from None
    listener.setblocking(False)
    return listener
