"""The Reflex app: pages plus the HTTP routes and middleware mounted around it."""

import reflex as rx

import imagegen.pages  # noqa: F401  (records every page)
from imagegen.api import build_api
from imagegen.middleware import session_cookie_refresh
from imagegen.templates import register_pages

app = rx.App(api_transformer=[build_api(), session_cookie_refresh])
register_pages(app)
