"""/forgot-password and /reset-password: ask for a link by email, then set a new password."""

import reflex as rx

from imagegen import routes, security
from imagegen.components.forms import error_alert, field
from imagegen.pages.auth_card import auth_card
from imagegen.state.auth import AuthFormState
from imagegen.templates import public_page


def _back_to_login() -> rx.Component:
    return rx.text(
        rx.link("Back to sign in", href=routes.LOGIN), size="2", align="center", width="100%"
    )


@public_page(route=routes.FORGOT_PASSWORD, title="Forgot password", on_load=AuthFormState.load)
def forgot_password() -> rx.Component:
    """Ask for a reset link."""
    return auth_card(
        "Forgot your password?",
        "Enter your email and we send you a link to choose a new one.",
        error_alert(AuthFormState.error),
        rx.cond(
            AuthFormState.sent,
            rx.callout(
                "If an account exists for that email, a reset link is on its way. "
                "It works once, for 1 hour.",
                icon="mail-check",
                color_scheme="green",
                role="status",
                width="100%",
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
                    ),
                    rx.button("Send reset link", type="submit", size="3", width="100%"),
                    spacing="4",
                    width="100%",
                ),
                action=routes.API_FORGOT_PASSWORD,
                method="post",
                on_submit=None,
                width="100%",
            ),
        ),
        _back_to_login(),
    )


@public_page(route=routes.RESET_PASSWORD, title="Choose a new password", on_load=AuthFormState.load)
def reset_password() -> rx.Component:
    """Set a new password from the emailed link."""
    return auth_card(
        "Choose a new password",
        "After this, every device signed in to your account is signed out.",
        error_alert(AuthFormState.error),
        rx.el.form(
            rx.vstack(
                rx.el.input(type="hidden", name="token", value=AuthFormState.token),
                field(
                    "New password",
                    "password",
                    type_="password",
                    autocomplete="new-password",
                    required=True,
                    min_length=security.PASSWORD_MIN,
                    max_length=security.PASSWORD_MAX,
                    hint=f"{security.PASSWORD_MIN} to {security.PASSWORD_MAX} characters.",
                ),
                rx.button("Set new password", type="submit", size="3", width="100%"),
                spacing="4",
                width="100%",
            ),
            action=routes.API_RESET_PASSWORD,
            method="post",
            on_submit=None,
            width="100%",
        ),
        _back_to_login(),
    )
