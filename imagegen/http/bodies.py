"""Request bodies read with their size limit enforced while reading: a body larger than the
limit (whatever its Content-Length says, or with none, chunked) is refused as soon as the limit
is passed, never buffered whole. Every route that reads a body goes through here.
"""

from starlette.requests import Request
from starlette.types import Message


class BodyTooLarge(Exception):
    """The body passed its route's limit (answered 413 by the app's exception handler)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit:,} bytes.")
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The body, at most `limit` bytes.

    Raises:
        BodyTooLarge: Content-Length says more, or the stream passed the limit.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, limit: int) -> dict[str, str]:
    """The text fields of a form body of at most `limit` bytes (files are ignored).

    Raises:
        BodyTooLarge: the body is larger than `limit`.
    """
    body = await read_body(request, limit)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form()
    return {k: v for k, v in form.items() if isinstance(v, str)}
