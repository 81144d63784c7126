"""Form pieces with visible labels and an accessible error area."""

import reflex as rx

from imagegen import routes, styles
from imagegen.http import urls


def field(
    label: str,
    name: str,
    *,
    type_: str = "text",
    autocomplete: str | None = None,
    default_value: rx.Var | str | None = None,
    hint: str | None = None,
    **props: object,
) -> rx.Component:
    """A labelled input; `name` doubles as the element id the label points at."""
    return rx.vstack(
        rx.el.label(label, html_for=name, style=styles.label_style),
        rx.input(
            id=name,
            name=name,
            type=type_,
            auto_complete=autocomplete,
            default_value=default_value,
            size="3",
            width="100%",
            **props,
        ),
        rx.cond(hint is not None, rx.text(hint or "", size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
    )


def error_alert(message: rx.Var) -> rx.Component:
    """An error callout with role="alert", rendered only when there is a message."""
    return rx.cond(
        message != "",
        rx.callout(
            message,
            icon="triangle-alert",
            color_scheme="red",
            role="alert",
            width="100%",
        ),
    )


def oauth_buttons(providers: dict[str, str]) -> rx.Component:
    """Continue-with buttons for each configured provider. Each is a native GET form, so the
    browser really leaves for our start route (the client-side router would not).

    Args:
        providers: provider name → label, only those configured.
    """
    if not providers:
        return rx.fragment()
    return rx.vstack(
        *(
            rx.el.form(
                rx.button(
                    rx.icon("log-in", size=16),
                    f"Continue with {label}",
                    type="submit",
                    variant="outline",
                    size="3",
                    width="100%",
                ),
                action=urls.backend(routes.oauth_start(name)),
                method="get",
                on_submit=None,
                width="100%",
            )
            for name, label in providers.items()
        ),
        rx.hstack(
            rx.separator(size="4"),
            rx.text("or", size="1", color_scheme="gray"),
            rx.separator(size="4"),
            align="center",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def post_form(action: str, submit_label: str, *fields: rx.Component) -> rx.Component:
    """A native POST form: the server answers with a redirect (and may set the HttpOnly
    session cookie), which a Reflex event could not do.
    """
    return rx.el.form(
        rx.vstack(
            *fields,
            rx.button(submit_label, type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        action=urls.backend(action),
        method="post",
        on_submit=None,
        width="100%",
    )


def from_url(param: str) -> rx.Var:
    """A query parameter of the page's own URL, as a form's starting value.

    The router comes with the tab's first event (hydrate, or on_load after a client-side
    move), so this is never a value left over from the tab's previous page; and as a
    default value it only fills a field nobody has typed into yet.
    """
    return rx.State.router.url.query_parameters[param].to(str)


def email_field() -> rx.Component:
    """The Email input of the auth forms, prefilled from `?email=` (e.g. after a failed
    post). Uncontrolled and never re-keyed: a late update cannot replace what was typed.
    """
    return field(
        "Email",
        "email",
        type_="email",
        autocomplete="email",
        default_value=from_url("email"),
        required=True,
        placeholder="you@example.com",
    )


def new_password_field(label: str = "Password") -> rx.Component:
    """A password input with the policy as its hint."""
    from imagegen import security

    return field(
        label,
        "password",
        type_="password",
        autocomplete="new-password",
        required=True,
        min_length=security.PASSWORD_MIN,
        max_length=security.PASSWORD_MAX,
        hint=f"{security.PASSWORD_MIN} to {security.PASSWORD_MAX} characters.",
    )


def footer_link(text: str, link_text: str, href: str) -> rx.Component:
    """The small line under an auth form ("New here? Create an account")."""
    return rx.text(text, rx.link(link_text, href=href), size="2", align="center", width="100%")
