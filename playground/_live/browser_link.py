"""Where a learner's browser can open a server that ``serve()`` runs in a kernel.

On a laptop that is ``http://127.0.0.1:PORT``. On a JupyterHub, on Binder or in a cloud IDE the browser
runs on another machine and cannot reach the kernel's loopback; the Jupyter server it talks to can, and
jupyter-server-proxy forwards ``<base_url>proxy/<port>/`` there, WebSockets included, behind Jupyter's
own login. So when the kernel was started by a Jupyter server and jupyter-server-proxy is installed, the
link is that path on the Jupyter server: a path without a host, so it works under whatever address the
browser reached Jupyter by (a hub's domain, an SSH tunnel, a forwarded port). ``serve(app,
public_url=...)`` says it outright instead, for anything else.

Which Jupyter server started the kernel: the server writes ``jpserver-<pid>.json`` (its ``base_url``
among the rest) into its runtime directory, the one that also holds the kernel's connection file, and
the kernel's parent is that server (``JPY_PARENT_PID``, set by jupyter_client). On a JupyterHub whose
runtime file is not found, a kernel of a notebook session (``JPY_SESSION_NAME``) uses the hub's
``JUPYTERHUB_SERVICE_PREFIX``. A kernel started by anything else (nbval, nbclient, a console) gets the
loopback link, so stored notebook outputs do not change with the machine they were made on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BrowserLink", "browser_link", "jupyter_base_url"]

LOOPBACK = "loopback"
PROXIED = "jupyter-server-proxy"
GIVEN = "public_url"


@dataclass(frozen=True)
class BrowserLink:
    """``url``: what a browser opens; ``via``: "loopback", "jupyter-server-proxy" or "public_url"."""

    url: str
    via: str
    behind_jupyter: bool = False  # a Jupyter server started the kernel (but has no jupyter-server-proxy)

    def describe(self) -> str:
        if self.via == PROXIED:
            return "proxied by jupyter-server-proxy, behind this Jupyter server's login"
        if self.via == GIVEN:
            return "the public_url given to serve()"
        if self.behind_jupyter:
            return ("loopback: opens in a browser on the machine that runs the kernel; with "
                    "jupyter-server-proxy installed, the link would go through this Jupyter server")
        return "loopback: opens in a browser on the machine that runs the kernel"


def browser_link(port: int, loopback_url: str, public_url: str | None = None,
                 environ: Mapping[str, str] | None = None) -> BrowserLink:
    if public_url is not None:
        return BrowserLink(public_url.replace("{port}", str(port)), GIVEN)
    base_url = jupyter_base_url(environ)
    if base_url is None:
        return BrowserLink(loopback_url, LOOPBACK)
    if importlib.util.find_spec("jupyter_server_proxy") is None:
        return BrowserLink(loopback_url, LOOPBACK, behind_jupyter=True)
    return BrowserLink(proxied_path(base_url, port), PROXIED)


def proxied_path(base_url: str, port: int, *, absolute: bool = False) -> str:
    """``<base_url>proxy/<port>/``: jupyter-server-proxy strips that prefix before the app sees the path;
    with ``absolute`` (``<base_url>proxy/absolute/<port>/``) it keeps it."""
    return f"{base_url}proxy/{'absolute/' if absolute else ''}{port}/"


def check_public_url(public_url: str | None) -> None:
    if public_url is None:
        return
    if not isinstance(public_url, str):
        raise TypeError(f"public_url must be a string (a URL, or a path on the Jupyter server), got {public_url!r}")
    parts = urllib.parse.urlsplit(public_url.replace("{port}", "0"))
    if not (parts.scheme in ("http", "https") and parts.netloc) and not public_url.startswith("/"):
        raise ValueError(
            f"public_url must be an http(s) URL or a path starting with '/', got {public_url!r} "
            "(for example 'https://hub.example.org/user/ada/proxy/{port}/'; {port} becomes the server's port)"
        )


def jupyter_base_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``base_url`` of the Jupyter server that started this kernel ("/" or "/user/NAME/"), or None."""
    env = os.environ if environ is None else environ
    info = _parent_server_info(env)
    if info is not None:
        base_url = info.get("base_url")
        if isinstance(base_url, str) and base_url.startswith("/"):
            return base_url if base_url.endswith("/") else base_url + "/"
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "")
    if prefix.startswith("/") and env.get("JPY_SESSION_NAME"):
        return prefix if prefix.endswith("/") else prefix + "/"
    return None


def _parent_server_info(env: Mapping[str, str]) -> dict[str, object] | None:
    parents = {str(os.getppid())}
    if env.get("JPY_PARENT_PID", "").isdigit():
        parents.add(env["JPY_PARENT_PID"])
    for directory in _runtime_dirs(env):
        for pid in parents:
            try:
                info = json.loads((directory / f"jpserver-{pid}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(info, dict) and str(info.get("pid")) == pid:
                return info
    return None


def _runtime_dirs(env: Mapping[str, str]) -> list[Path]:
    """Where a Jupyter server keeps its runtime files: beside the kernel's connection file, then
    jupyter_core's runtime directory (imported here only: ``import playground`` stays light)."""
    dirs: list[Path] = []
    kernelapp = sys.modules.get("ipykernel.kernelapp")
    if kernelapp is not None and kernelapp.IPKernelApp.initialized():
        connection_file = kernelapp.IPKernelApp.instance().abs_connection_file
        if connection_file:
            dirs.append(Path(connection_file).parent)
    if env.get("JUPYTER_RUNTIME_DIR"):
        dirs.append(Path(env["JUPYTER_RUNTIME_DIR"]))
    else:
        try:
            from jupyter_core.paths import jupyter_runtime_dir
        except ImportError:
            pass
        else:
            dirs.append(Path(jupyter_runtime_dir()))
    return list(dict.fromkeys(dirs))
