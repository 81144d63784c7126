"""/register: name, email and password; the server creates the account and signs in."""

import reflex as rx

from imagegen import routes, security
from imagegen.components.forms import error_alert, field, oauth_buttons
from imagegen.pages.auth_card import auth_card
from imagegen.providers.oauth import configured_providers
from imagegen.settings import get_settings
from imagegen.state.auth import AuthFormState
from imagegen.templates import public_page


@public_page(route=routes.REGISTER, title="Create account", on_load=AuthFormState.load)
def register() -> rx.Component:
    """The sign-up page."""
    return auth_card(
        "Create your account",
        "Free plan: 10 images a day, no card needed.",
        error_alert(AuthFormState.error),
        oauth_buttons({n: p.label for n, p in configured_providers(get_settings()).items()}),
        rx.el.form(
            rx.vstack(
                field(
                    "Name",
                    "name",
                    autocomplete="name",
                    default_value=AuthFormState.name,
                    key=AuthFormState.name,
                    required=True,
                    max_length=100,
                ),
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
                    autocomplete="new-password",
                    required=True,
                    min_length=security.PASSWORD_MIN,
                    max_length=security.PASSWORD_MAX,
                    hint=f"{security.PASSWORD_MIN} to {security.PASSWORD_MAX} characters.",
                ),
                rx.button("Create account", type="submit", size="3", width="100%"),
                spacing="4",
                width="100%",
            ),
            action=routes.API_REGISTER,
            method="post",
            on_submit=None,
            width="100%",
        ),
        rx.text(
            "Already have an account? ",
            rx.link("Sign in", href=routes.LOGIN),
            size="2",
            align="center",
            width="100%",
        ),
    )
