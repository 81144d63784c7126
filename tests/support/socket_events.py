"""The events a page sends to the Reflex backend, read off its websocket (Playwright)."""

import json
from typing import Any

from playwright.sync_api import Page, WebSocket


def event_name(frame: str | bytes) -> str | None:
    """The Reflex event a socket.io frame carries (its handler's name, e.g. "submit"), or
    None for anything else (engine.io pings and pongs, the connect packet, binary frames).
    """
    if not isinstance(frame, str) or not frame.startswith("42"):
        return None
    rest = frame[2:]
    if rest.startswith("/"):  # a namespace ("/_event,"), then an optional ack id
        rest = rest.partition(",")[2]
    try:
        body: Any = json.loads(rest.lstrip("0123456789"))
        payload = body[1] if isinstance(body, list) and len(body) > 1 else None
        if isinstance(payload, str):
            payload = json.loads(payload)
        name = payload.get("name", "") if isinstance(payload, dict) else ""
    except (ValueError, AttributeError, IndexError, TypeError):
        return None
    return str(name).rsplit(".", 1)[-1] or None


class SentEvents:
    """Every event the page sends on /_event, in order (listening from before it opens)."""

    def __init__(self, page: Page) -> None:
        self.names: list[str] = []
        page.on("websocket", self._watch)

    def _watch(self, ws: WebSocket) -> None:
        if "/_event" in ws.url:
            ws.on("framesent", self._sent)

    def _sent(self, frame: str | bytes) -> None:
        name = event_name(frame)
        if name is not None:
            self.names.append(name)

    def since(self, mark: int) -> list[str]:
        """The events sent after `mark` (a length of `names` taken earlier)."""
        return self.names[mark:]
