"""The centred card the login and register pages share."""

import reflex as rx

from imagegen import styles
from imagegen.components.forms import oauth_buttons
from imagegen.components.layout import logo
from imagegen.providers.oauth import configured_providers
from imagegen.settings import get_settings
from imagegen.state.auth import AuthFormState


def auth_card(title: str, subtitle: str, *children: rx.Component) -> rx.Component:
    """A centred card with the logo, a title and the form."""
    return rx.center(
        rx.vstack(
            rx.hstack(
                rx.spacer(),
                rx.color_mode.button(size="2", variant="ghost", aria_label="Toggle dark mode"),
                width="100%",
            ),
            rx.card(
                rx.vstack(
                    logo(),
                    rx.vstack(
                        rx.heading(title, size="6", as_="h1"),
                        rx.text(subtitle, color_scheme="gray", size="2"),
                        spacing="1",
                    ),
                    *children,
                    spacing="5",
                    width="100%",
                ),
                size="4",
                width="100%",
            ),
            width="100%",
            max_width=styles.CARD_MAX_WIDTH,
            spacing="3",
        ),
        min_height="100vh",
        padding="1rem",
        background=f"radial-gradient(circle at 20% 0%, var(--{styles.ACCENT}-a3), transparent 45%)",
    )


def oauth_choices() -> rx.Component:
    """Continue-with buttons for the providers configured on this server."""
    providers = configured_providers(get_settings())
    return oauth_buttons({name: provider.label for name, provider in providers.items()})


def notice() -> rx.Component:
    """A good-news message carried across a redirect (e.g. after a password reset)."""
    return rx.cond(
        AuthFormState.notice != "",
        rx.callout(
            AuthFormState.notice,
            icon="circle-check",
            color_scheme="green",
            role="status",
            width="100%",
        ),
    )
