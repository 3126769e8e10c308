"""The notes API of notebook 10: a login that hands out a token, notes behind it, a WebSocket feed.

Kept in a module (not a notebook cell) so that pytest can import it too:
``pytest --http-app=notes_app:app --http-env=workshop notes.http`` from this directory.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from playground import HTTPEndpoint, WebSocketEndpoint

USERS = {"ada": "lovelace"}


def user_of(connection: HTTPConnection) -> str | None:
    """The user a ``Bearer`` token belongs to (tokens are ``token-<user>``: this is a workshop)."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    user = token.removeprefix("token-")
    return user if scheme == "Bearer" and token.startswith("token-") and user in USERS else None


class Login(HTTPEndpoint):
    async def post(self, request: Request) -> JSONResponse:
        data = await request.json()
        if USERS.get(data.get("user")) != data.get("password"):
            return JSONResponse({"error": "wrong user or password"}, status_code=401)
        return JSONResponse({"user": data["user"], "token": f"token-{data['user']}"})


class Notes(HTTPEndpoint):
    async def get(self, request: Request) -> JSONResponse:
        if user_of(request) is None:
            return JSONResponse({"error": "log in first"}, status_code=401)
        return JSONResponse(list(request.app.state.notes.values()))

    async def post(self, request: Request) -> JSONResponse:
        user = user_of(request)
        if user is None:
            return JSONResponse({"error": "log in first"}, status_code=401)
        notes = request.app.state.notes
        note = {"id": len(notes) + 1, "text": (await request.json())["text"], "by": user}
        notes[note["id"]] = note
        return JSONResponse(note, status_code=201, headers={"Location": f"/notes/{note['id']}"})


class Note(HTTPEndpoint):
    async def get(self, request: Request) -> JSONResponse:
        if user_of(request) is None:
            return JSONResponse({"error": "log in first"}, status_code=401)
        note = request.app.state.notes.get(request.path_params["id"])
        return JSONResponse(note or {"error": "no such note"}, status_code=200 if note else 404)


class Feed(WebSocketEndpoint):
    encoding = "json"

    async def on_connect(self, websocket: WebSocket) -> None:
        user = user_of(websocket)
        if user is None:
            await websocket.close(code=1008, reason="log in first")
            return
        await websocket.accept()
        await websocket.send_json({"hello": user, "notes": len(websocket.app.state.notes)})

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_json({"echo": data.get("text"), "notes": len(websocket.app.state.notes)})


def make_app() -> Starlette:
    """A new app with no notes yet."""
    app = Starlette(routes=[
        Route("/login", Login),
        Route("/notes", Notes),
        Route("/notes/{id:int}", Note),
        WebSocketRoute("/feed", Feed),
    ])
    app.state.notes = {}
    return app


app = make_app()
