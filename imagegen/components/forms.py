"""Form pieces with visible labels and an accessible error area."""

import reflex as rx

from imagegen import styles


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
