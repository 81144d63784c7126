"""The Reflex app: pages, the HTTP routes and middleware around it, and the live-update relay."""

import reflex as rx

import imagegen.pages  # noqa: F401  (records every page)
from imagegen.api import build_api
from imagegen.middleware import session_cookie_refresh
from imagegen.state.relay import relay
from imagegen.templates import register_pages

app = rx.App(api_transformer=[build_api(), session_cookie_refresh])
app.register_lifespan_task(relay)
register_pages(app)
