"""The signed-in shell: sidebar navigation, header with the user and "Sign out", dark mode."""

import reflex as rx

from imagegen import routes, styles
from imagegen.http import urls
from imagegen.state.auth import AuthState
from imagegen.state.feed import UserFeed

NAV = (
    ("Generate", routes.HOME, "sparkles"),
    ("Billing", routes.BILLING, "credit-card"),
    ("Account", routes.ACCOUNT, "circle-user"),
)


def logo() -> rx.Component:
    """The product mark."""
    return rx.hstack(
        rx.center(
            rx.icon("image", size=18, color="white"),
            width="2rem",
            height="2rem",
            border_radius="var(--radius-3)",
            background=f"linear-gradient(135deg, var(--{styles.ACCENT}-9), var(--plum-9))",
        ),
        rx.text("imagegen", weight="bold", size="5"),
        align="center",
        spacing="2",
    )


def _nav_link(label: str, href: str, icon: str, active: str) -> rx.Component:
    is_active = href == active
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(label, size="3"), align="center", spacing="3"),
        href=href,
        underline="none",
        padding="0.55rem 0.75rem",
        border_radius="var(--radius-3)",
        color="var(--accent-11)" if is_active else "var(--gray-11)",
        background="var(--accent-3)" if is_active else "transparent",
        font_weight="500" if is_active else "400",
        _hover={"background": "var(--gray-3)", "color": "var(--gray-12)"},
        aria_current="page" if is_active else None,
        width="100%",
    )


def _admin_link(active: str) -> rx.Component:
    """Only admins see it."""
    return rx.cond(AuthState.is_admin, _nav_link("Admin", routes.ADMIN, "shield", active))


def sidebar(active: str) -> rx.Component:
    """Left navigation on tablets and desktops."""
    return rx.vstack(
        rx.box(logo(), padding="0.25rem 0.5rem 1rem"),
        rx.el.nav(
            rx.vstack(
                *(_nav_link(*item, active) for item in NAV),
                _admin_link(active),
                spacing="1",
                width="100%",
            ),
            aria_label="Main",
            width="100%",
        ),
        width=styles.SIDEBAR_WIDTH,
        min_width=styles.SIDEBAR_WIDTH,
        height="100vh",
        position="sticky",
        top="0",
        padding="1.25rem 0.75rem",
        border_right="1px solid var(--gray-a5)",
        background="var(--gray-1)",
        display=["none", "none", "flex"],
    )


def mobile_nav(active: str) -> rx.Component:
    """The same links as a row of tabs on phones."""
    return rx.el.nav(
        rx.hstack(
            *(_nav_link(*item, active) for item in NAV),
            _admin_link(active),
            spacing="1",
            width="100%",
        ),
        aria_label="Main (mobile)",
        display=["block", "block", "none"],
        padding="0.5rem 0.75rem",
        border_bottom="1px solid var(--gray-a5)",
        overflow_x="auto",
    )


def sign_out_button() -> rx.Component:
    """A native POST to the logout route, so the HttpOnly cookie is cleared by the server."""
    return rx.el.form(
        rx.button(
            rx.icon("log-out", size=16),
            rx.text("Sign out", display=["none", "inline"]),
            type="submit",
            variant="soft",
            color_scheme="gray",
            aria_label="Sign out",
        ),
        action=urls.backend(routes.API_LOGOUT),
        method="post",
        on_submit=None,
    )


def header(title: str) -> rx.Component:
    """Page title, the user's name and plan, dark mode toggle and sign out."""
    return rx.hstack(
        rx.box(logo(), display=["block", "block", "none"]),
        # The page's one <h1>: shown beside the sidebar, read out (not shown) on phones.
        rx.heading(
            title,
            as_="h1",
            size="6",
            position=rx.breakpoints(initial="absolute", md="static"),
            width=rx.breakpoints(initial="1px", md="auto"),
            height=rx.breakpoints(initial="1px", md="auto"),
            overflow=rx.breakpoints(initial="hidden", md="visible"),
            clip=rx.breakpoints(initial="rect(0 0 0 0)", md="auto"),
            white_space="nowrap",
        ),
        rx.spacer(),
        rx.hstack(
            rx.avatar(fallback=AuthState.user_initial, size="2", radius="full"),
            rx.vstack(
                rx.text(AuthState.user_name, size="2", weight="medium", trim="both"),
                rx.badge(
                    rx.cond(UserFeed.plan_label != "", UserFeed.plan_label, AuthState.plan_label),
                    variant="soft",
                    size="1",
                    id="plan-badge",
                ),
                spacing="1",
                align="start",
                display=["none", "flex"],
            ),
            rx.color_mode.button(size="2", variant="ghost", aria_label="Toggle dark mode"),
            sign_out_button(),
            align="center",
            spacing="3",
        ),
        align="center",
        width="100%",
        padding="0.9rem 1.5rem",
        border_bottom="1px solid var(--gray-a5)",
        background="var(--color-background)",
        position="sticky",
        top="0",
        z_index="10",
    )


def content_placeholder() -> rx.Component:
    """What a private page's content area shows until the session check has answered (the
    shell around it is already there): the rough shape of a page, announced as busy.
    """
    return rx.vstack(
        rx.skeleton(height="2rem", width="min(18rem, 60%)"),
        rx.skeleton(height="7rem", width="100%"),
        rx.skeleton(height="12rem", width="100%"),
        spacing="4",
        width="100%",
        aria_busy="true",
        aria_label="Loading",
    )


def skip_link() -> rx.Component:
    """The first stop of the Tab key: straight to the page's content."""
    return rx.el.a(
        "Skip to content",
        href="#main",
        style={
            **styles.sr_only,
            "&:focus": {
                "position": "fixed",
                "width": "auto",
                "height": "auto",
                "clip": "auto",
                "top": "0.5rem",
                "left": "0.5rem",
                "z_index": "100",
                "padding": "0.5rem 0.9rem",
                "border_radius": "var(--radius-3)",
                "background": "var(--accent-9)",
                "color": "var(--accent-contrast)",
            },
        },
    )


def app_shell(content: rx.Component, *, title: str, active: str) -> rx.Component:
    """Sidebar + header + content, shown only to a signed-in user."""
    return rx.hstack(
        skip_link(),
        sidebar(active),
        rx.vstack(
            header(title),
            mobile_nav(active),
            rx.el.main(
                content,
                id="main",
                tab_index=-1,
                padding=["1rem", "1.25rem", "2rem"],
                width="100%",
                max_width="80rem",
                outline="none",
            ),
            spacing="0",
            width="100%",
            min_height="100vh",
            align="stretch",
        ),
        spacing="0",
        width="100%",
        align="start",
    )
