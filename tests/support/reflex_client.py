"""A simulated browser tab: a Reflex websocket client speaking the protocol the compiled
frontend speaks (socket.io on `/_event`, hydrate-and-load in the CONNECT packet, events as
`{name, payload, router_data}`, deltas back), with the HttpOnly session cookie in the
handshake exactly as a browser sends it. It keeps the merged state the tab would render.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlencode

import socketio

T = TypeVar("T")
ROOT_STATE = "reflex___state____state"
FIELD_SUFFIX = "_rx_state_"


class ReflexTab:
    """One open tab of the app (no rendering)."""

    def __init__(
        self, url: str, cookie: str | None, token: str | None = None, origin: str | None = None
    ) -> None:
        self.url, self.cookie = url, cookie
        # The page's origin: the URL dialled unless the app is reached by another address
        # (a proxy's port on 127.0.0.1 for a host name only a browser would resolve).
        self.origin = origin or url
        # The tab's client token: the frontend makes a UUID; an attacker may send anything.
        self.token = token if token is not None else str(uuid.uuid4())
        self.state: dict[str, dict[str, Any]] = {}
        # Every frame the server sent, as received (what an attacker would read).
        self.frames: list[str] = []
        self.errors: list[str] = []
        self._changed = asyncio.Event()
        self._sio = socketio.AsyncClient(reconnection=False)
        self._sio.on("event", self._on_update, namespace="/_event")

    async def _on_update(self, update: dict[str, Any]) -> None:
        self.frames.append(json.dumps(update))
        for substate, fields in (update.get("delta") or {}).items():
            self.state.setdefault(substate, {}).update(
                {name.removesuffix(FIELD_SUFFIX): value for name, value in fields.items()}
            )
        self._changed.set()

    async def open(self, path: str = "/") -> None:
        """Connect and hydrate the page (its on_load handlers run), like a page load."""
        router = {"pathname": path, "asPath": path}
        headers = {"Origin": self.origin}
        if self.cookie:
            headers["Cookie"] = self.cookie
        await self._sio.connect(
            f"{self.url}?{urlencode({'token': self.token})}",
            socketio_path="/_event",
            namespaces=["/_event"],
            transports=["websocket"],
            headers=headers,
            auth={"event": {"name": f"{ROOT_STATE}.hydrate_and_load", "router_data": router}},
            wait_timeout=30,
        )

    async def send(self, handler: str, **payload: Any) -> None:
        """Fire an event handler by its full name (e.g. GalleryState.submit's)."""
        await self._sio.emit(
            "event",
            {"name": handler, "payload": payload, "router_data": {"pathname": "/", "asPath": "/"}},
            namespace="/_event",
        )

    def get(self, substate: str, field: str, default: Any = None) -> Any:
        """A field of the state this tab renders."""
        return self.state.get(substate, {}).get(field, default)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30) -> float:
        """Wait until the tab's state satisfies the predicate; returns when (perf_counter)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the tab never reached the expected state")
            self._changed.clear()
            if predicate():
                break
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue
        return time.perf_counter()

    async def close(self) -> None:
        """Close the socket (the tab goes away)."""
        await self._sio.disconnect()

    async def discard(self) -> None:
        """Release what a refused connection left open (its HTTP session)."""
        await self._sio.eio._reset()


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own event loop in a worker thread: callable from
    tests whose thread already runs a loop (Playwright's sync API keeps one going).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
