"""/forgot-password and /reset-password: ask for a link by email, then set a new password."""

import reflex as rx

from imagegen import routes
from imagegen.components.forms import (
    email_field,
    error_alert,
    footer_link,
    new_password_field,
    post_form,
)
from imagegen.pages.auth_card import auth_card
from imagegen.state.auth import AuthFormState
from imagegen.templates import public_page


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
            post_form(routes.API_FORGOT_PASSWORD, "Send reset link", email_field()),
        ),
        footer_link("", "Back to sign in", routes.LOGIN),
    )


@public_page(route=routes.RESET_PASSWORD, title="Choose a new password", on_load=AuthFormState.load)
def reset_password() -> rx.Component:
    """Set a new password from the emailed link."""
    return auth_card(
        "Choose a new password",
        "After this, every device signed in to your account is signed out.",
        error_alert(AuthFormState.error),
        post_form(
            routes.API_RESET_PASSWORD,
            "Set new password",
            rx.el.input(type="hidden", name="token", value=AuthFormState.token),
            new_password_field("New password"),
        ),
        footer_link("", "Back to sign in", routes.LOGIN),
    )
