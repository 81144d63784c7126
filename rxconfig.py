"""Reflex configuration, built from imagegen's settings (one source of truth)."""

import sys
from typing import Any

import reflex as rx

from imagegen.settings import SettingsError, get_settings
from imagegen.styles import ACCENT

try:
    settings = get_settings()
except SettingsError as exc:  # one clear line, not a traceback
    sys.exit(str(exc))

# The backend's public URL, baked into the exported frontend (its socket, uploads); unset,
# Reflex dials the page's own host, which is right for `make run` and `reflex run`.
# Reflex 0.10 overrides any field with a `REFLEX_<FIELD>` variable after this call
# (reflex_base/config.py `_post_init` → `update_from_env`), so REFLEX_API_URL wins over
# API_URL here; Settings prefers REFLEX_API_URL too, so form actions agree with the socket.
_api_url: dict[str, Any] = {"api_url": settings.api_url} if settings.api_url else {}

config = rx.Config(
    app_name="imagegen",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color=ACCENT, gray_color="slate", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Reflex's default ("*") echoes any Origin with credentials: only our own site may call.
    cors_allowed_origins=[settings.app_url],
    # Ports come from the command line (`imagegen run`, the Procfile): a port set here would
    # make `reflex run --backend-only` refuse to start ("Cannot specify --frontend-port").
    **_api_url,
)
