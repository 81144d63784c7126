"""Page registry: `public_page` and `private_page` record pages; `register_pages` adds them.

Pages are added with `app.add_page` once, rather than `@rx.page`, whose registry Reflex
applies on every compile and then warns that each page is "being redefined".
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from imagegen.components.layout import app_shell, full_page_spinner
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
    *, route: str, title: str, on_load: Any = None, active: str | None = None
) -> Callable[[PageFn], PageFn]:
    """Record a page only a signed-in user sees, inside the app shell.

    The prerendered HTML holds only the spinner; content renders after the session check.

    Args:
        route: the page's path.
        title: shown in the header and the browser tab.
        on_load: further handlers to run after the login check.
        active: the navigation entry to highlight (default: the route).
    """

    def decorator(page: PageFn) -> PageFn:
        def wrapped() -> rx.Component:
            return rx.cond(
                AuthState.is_authenticated,
                app_shell(page(), title=title, active=active or route),
                full_page_spinner(),
            )

        wrapped.__name__ = page.__name__
        extra = on_load if isinstance(on_load, list) else [on_load] if on_load else []
        PAGES.append(
            PageSpec(wrapped, route, f"{title} · imagegen", [AuthState.require_login, *extra])
        )
        return page

    return decorator


def register_pages(app: rx.App) -> None:
    """Add every recorded page to the app."""
    for spec in PAGES:
        app.add_page(
            spec.component, route=spec.route, title=spec.title, on_load=spec.on_load or None
        )
