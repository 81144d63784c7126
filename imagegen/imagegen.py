"""The Reflex app: pages, the HTTP routes and middleware around it, and the live-update relay."""

import logging

import anyio
import reflex as rx

import imagegen.pages  # noqa: F401  (records every page)
from imagegen import logs
from imagegen.http.app import build_api
from imagegen.http.middleware import (
    admin_gate,
    frontend_redirects,
    request_context,
    security_headers,
    session_cookie_refresh,
    socket_token_guard,
)
from imagegen.http.webhooks import begin_warm_up
from imagegen.relay import relay
from imagegen.services.admin import configuration_notes
from imagegen.settings import get_settings
from imagegen.templates import register_pages


def start_logging() -> None:
    """At web process start (not at import, so tests and tools that import the app keep
    their own logging): the log format, then what the configuration leaves out, for
    operators (users never see setting names).
    """
    logs.configure()
    for note in configuration_notes(get_settings()):
        logging.getLogger("imagegen.config").warning("%s %s", note["setting"], note["effect"])


app = rx.App(
    api_transformer=[
        build_api(),
        session_cookie_refresh,
        admin_gate,
        socket_token_guard,
        security_headers,
        frontend_redirects,
        request_context,
    ]
)


_warm = begin_warm_up()


async def warm_up() -> None:
    """Slow first-use work, done in a thread while the app starts rather than in a request
    (/api/ready says "warming up" meanwhile).
    """
    await anyio.to_thread.run_sync(_warm)


app.register_lifespan_task(start_logging)
app.register_lifespan_task(relay)
app.register_lifespan_task(warm_up)
register_pages(app)
