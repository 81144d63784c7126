"""Page registry: `public_page` and `private_page` record pages; `register_pages` adds them.

Pages are added with `app.add_page` once, rather than `@rx.page`, whose registry Reflex
applies on every compile and then warns that each page is "being redefined".
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from imagegen.components.layout import app_shell, content_placeholder
from imagegen.state.auth import AuthState

PageFn = Callable[[], rx.Component]


@dataclass(frozen=True)
class PageSpec:
    """What `app.add_page` needs for one route."""

    component: PageFn
    route: str
    title: str
    on_load: list[Any] = field(default_factory=list)


PAGES: list[PageSpec] = []


def public_page(*, route: str, title: str, on_load: Any = None) -> Callable[[PageFn], PageFn]:
    """Record a page anyone may see."""

    def decorator(page: PageFn) -> PageFn:
        handlers = on_load if isinstance(on_load, list) else [on_load] if on_load else []
        PAGES.append(PageSpec(page, route, f"{title} · imagegen", handlers))
        return page

    return decorator


def private_page(
    *,
    route: str,
    title: str,
    on_load: Any = None,
    active: str | None = None,
    instant: bool = False,
    checks_login: bool = False,
) -> Callable[[PageFn], PageFn]:
    """Record a page only a signed-in user sees, inside the app shell.

    The shell (navigation, header) is in the prerendered HTML, so it paints at once; the
    content shows a placeholder until the session check has answered, or, with `instant`,
    renders at once too.

    Args:
        route: the page's path.
        title: shown in the header and the browser tab.
        on_load: further handlers to run after the login check.
        active: the navigation entry to highlight (default: the route).
        instant: the content holds no user data of its own before its state loads (it shows
            its own placeholders until then), so it is usable before the session check.
        checks_login: `on_load` itself checks the session (`AuthState._signed_in`) and links
            the feed, so its work runs once instead of after `AuthState.require_login`.
    """

    def decorator(page: PageFn) -> PageFn:
        def wrapped() -> rx.Component:
            content = (
                page()
                if instant
                else rx.cond(AuthState.is_authenticated, page(), content_placeholder())
            )
            return app_shell(content, title=title, active=active or route)

        wrapped.__name__ = page.__name__
        extra = on_load if isinstance(on_load, list) else [on_load] if on_load else []
        check = [] if checks_login else [AuthState.require_login]
        PAGES.append(PageSpec(wrapped, route, f"{title} · imagegen", [*check, *extra]))
        return page

    return decorator


def register_pages(app: rx.App) -> None:
    """Add every recorded page to the app."""
    for spec in PAGES:
        app.add_page(
            spec.component, route=spec.route, title=spec.title, on_load=spec.on_load or None
        )
