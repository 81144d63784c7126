"""/login: email and password, posted natively so the server can set the HttpOnly cookie."""

import reflex as rx

from imagegen import routes
from imagegen.components.forms import email_field, error_alert, field, footer_link, post_form
from imagegen.pages.auth_card import auth_card, notice, oauth_choices
from imagegen.state.auth import AuthFormState
from imagegen.templates import public_page


@public_page(route=routes.LOGIN, title="Sign in", on_load=AuthFormState.load)
def login() -> rx.Component:
    """The sign-in page."""
    return auth_card(
        "Welcome back",
        "Sign in to create and see your images.",
        error_alert(AuthFormState.error),
        notice(),
        oauth_choices(),
        post_form(
            routes.API_LOGIN,
            "Sign in",
            email_field(),
            field(
                "Password",
                "password",
                type_="password",
                autocomplete="current-password",
                required=True,
            ),
            rx.link(
                "Forgot password?",
                href=AuthFormState.forgot_href,
                size="2",
                align="right",
                width="100%",
            ),
        ),
        footer_link("New here? ", "Create an account", routes.REGISTER),
    )
