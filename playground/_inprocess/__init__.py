"""The in-process transport: requests and WebSocket sessions go straight into the ASGI app, on the
caller's own event loop.

scope.py builds the scope; http.py runs one HTTP exchange, websocket.py one session, lifespan.py the
startup and shutdown; each runs the app's call as an app_task.AppTask, talking to it through a
channel.Channel; watchdog.py sees an app that blocks the loop (posix_timer.py ticks the main thread
for it). transport.py puts them behind the interface client.py talks to.
"""
