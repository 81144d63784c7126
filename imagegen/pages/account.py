"""/account: the user's profile (sessions, linked sign-ins and the ledger come later)."""

import reflex as rx

from imagegen import routes
from imagegen.state.auth import AuthState
from imagegen.templates import private_page


def _row(label: str, value: rx.Var) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


@private_page(route=routes.ACCOUNT, title="Account")
def account() -> rx.Component:
    """The account page."""
    return rx.card(
        rx.vstack(
            rx.heading("Profile", size="4"),
            rx.data_list.root(
                _row("Name", AuthState.user_name),
                _row("Email", AuthState.user_email),
                _row("Plan", AuthState.plan_label),
                orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
            ),
            spacing="4",
        ),
        width="100%",
        max_width="40rem",
    )
