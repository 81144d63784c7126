"""The Reflex app: pages plus the HTTP routes mounted in front of it."""

import reflex as rx

import imagegen.pages  # noqa: F401  (records every page)
from imagegen.api import build_api
from imagegen.templates import register_pages

app = rx.App(api_transformer=build_api())
register_pages(app)
