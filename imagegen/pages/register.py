"""/register: name, email and password; the server creates the account and signs in."""

import reflex as rx

from imagegen import routes
from imagegen.components.forms import (
    email_field,
    error_alert,
    field,
    footer_link,
    from_url,
    new_password_field,
    post_form,
)
from imagegen.errors import EmailTaken
from imagegen.pages.auth_card import auth_card, oauth_choices
from imagegen.settings import get_settings
from imagegen.state.auth import AuthFormState
from imagegen.templates import public_page


@public_page(route=routes.REGISTER, title="Create account", on_load=AuthFormState.load)
def register() -> rx.Component:
    """The sign-up page."""
    return auth_card(
        "Create your account",
        f"Free plan: {get_settings().credits_free_user} credits a day, no card needed.",
        rx.cond(
            AuthFormState.error == EmailTaken.message,
            # The way out is a link, with the address carried over.
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert")),
                rx.callout.text(
                    "An account with this email already exists. ",
                    rx.link("Sign in instead.", href=AuthFormState.login_href),
                ),
                color_scheme="red",
                role="alert",
                width="100%",
            ),
            error_alert(AuthFormState.error),
        ),
        oauth_choices(),
        post_form(
            routes.API_REGISTER,
            "Create account",
            field(
                "Name",
                "name",
                autocomplete="name",
                default_value=from_url("name"),
                required=True,
                max_length=100,
            ),
            email_field(),
            new_password_field(),
        ),
        footer_link("Already have an account? ", "Sign in", routes.LOGIN),
    )
