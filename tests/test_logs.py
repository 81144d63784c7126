"""Structured logs: JSON lines carrying the request id of HTTP requests (echoed in
X-Request-ID) and, in workers, the job id (see tests/workers for the actor side)."""

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from imagegen import logs
from imagegen.http.middleware import request_context


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict]]]:
    """Root logging in JSON to a buffer; yields a reader of the lines written so far."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    buffer = io.StringIO()
    logs.configure(fmt="json", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.handlers[:] = saved
    root.setLevel(level)


def _said(request) -> PlainTextResponse:
    logging.getLogger("imagegen.test").info("handling %s", request.url.path)
    return PlainTextResponse("ok")


@pytest.fixture
def client() -> TestClient:
    inner = Starlette(routes=[Route("/{path:path}", _said)])
    return TestClient(request_context(inner), base_url="http://localhost:3000")


def test_each_request_gets_an_id_in_its_logs_and_response(client, json_lines) -> None:
    first = client.get("/api/health")
    second = client.get("/api/health")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert len(set(ids)) == 2 and all(len(i) == 32 for i in ids)
    lines = json_lines()
    handled = [line for line in lines if line["logger"] == "imagegen.test"]
    assert [line["request_id"] for line in handled] == ids
    assert handled[0]["message"] == "handling /api/health" and handled[0]["level"] == "INFO"
    access = [line for line in lines if line["logger"] == "imagegen.http"]
    assert [line["request_id"] for line in access] == ids
    assert access[0]["message"].startswith("GET /api/health 200 ")


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("lb-7f3a.9_x", True), ("x" * 65, False), ("two words", False), ("<script>", False)],
)
def test_a_proxy_request_id_is_kept_only_when_sane(client, incoming: str, kept: bool) -> None:
    echoed = client.get("/", headers={"X-Request-ID": incoming}).headers["x-request-id"]
    assert (echoed == incoming) is kept


def test_page_requests_are_not_access_logged_but_carry_the_id(client, json_lines) -> None:
    client.get("/gallery")
    lines = json_lines()
    assert [line["logger"] for line in lines] == ["imagegen.test"]
    assert "request_id" in lines[0]


def test_outside_a_request_lines_have_no_ids_and_exceptions_are_included(json_lines) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("imagegen.test").exception("it failed")
    [line] = json_lines()
    assert "request_id" not in line and "job_id" not in line
    assert line["level"] == "ERROR" and "ValueError: boom" in line["exception"]


def test_text_format_shows_the_ids() -> None:
    root = logging.getLogger()
    saved, buffer = root.handlers[:], io.StringIO()
    try:
        logs.configure(fmt="text", stream=buffer)
        token = logs.request_id.set("abc123")
        logging.getLogger("imagegen.test").warning("slow")
        logs.request_id.reset(token)
    finally:
        root.handlers[:] = saved
    assert "imagegen.test WARNING [req=abc123] slow" in buffer.getvalue()


def test_stderr_logging_follows_a_replaced_stderr(monkeypatch) -> None:
    """A handler set up by an entry point writes to the stderr of the moment: pytest (or
    anything) replacing and closing the stream it had does not make records fail with
    "--- Logging error ---".
    """
    import sys

    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    first, second = io.StringIO(), io.StringIO()
    try:
        monkeypatch.setattr(sys, "stderr", first)
        logs.configure(fmt="text")
        first.close()
        monkeypatch.setattr(sys, "stderr", second)
        logging.getLogger("imagegen.test").warning("still heard")
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    assert "Logging error" not in second.getvalue()
    assert "imagegen.test WARNING still heard" in second.getvalue()
