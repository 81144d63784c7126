"""/login: email and password, posted natively so the server can set the HttpOnly cookie."""

import reflex as rx

from imagegen import routes
from imagegen.components.forms import error_alert, field, oauth_buttons
from imagegen.pages.auth_card import auth_card
from imagegen.providers.oauth import configured_providers
from imagegen.settings import get_settings
from imagegen.state.auth import AuthFormState
from imagegen.templates import public_page


@public_page(route=routes.LOGIN, title="Sign in", on_load=AuthFormState.load)
def login() -> rx.Component:
    """The sign-in page."""
    return auth_card(
        "Welcome back",
        "Sign in to create and see your images.",
        error_alert(AuthFormState.error),
        oauth_buttons({n: p.label for n, p in configured_providers(get_settings()).items()}),
        rx.cond(
            AuthFormState.notice != "",
            rx.callout(
                AuthFormState.notice,
                icon="circle-check",
                color_scheme="green",
                role="status",
                width="100%",
            ),
        ),
        rx.el.form(
            rx.vstack(
                field(
                    "Email",
                    "email",
                    type_="email",
                    autocomplete="email",
                    default_value=AuthFormState.email,
                    key=AuthFormState.email,
                    required=True,
                    placeholder="you@example.com",
                ),
                field(
                    "Password",
                    "password",
                    type_="password",
                    autocomplete="current-password",
                    required=True,
                ),
                rx.link(
                    "Forgot password?",
                    href=routes.FORGOT_PASSWORD,
                    size="2",
                    align="right",
                    width="100%",
                ),
                rx.button("Sign in", type="submit", size="3", width="100%"),
                spacing="4",
                width="100%",
            ),
            action=routes.API_LOGIN,
            method="post",
            on_submit=None,
            width="100%",
        ),
        rx.text(
            "New here? ",
            rx.link("Create an account", href=routes.REGISTER),
            size="2",
            align="center",
            width="100%",
        ),
    )
