"""Live mode's parts under server.py's handle: the ASGI wrapper between uvicorn and the app
(served_app.py), routing uvicorn's log lines to their server (logs.py), the one module that reaches into
uvicorn (uvicorn_shim.py), the listening socket (listener.py) and the address a browser opens
(browser_link.py).
"""
