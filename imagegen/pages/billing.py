"""/billing: the user's plan (checkout and portal arrive with the billing issue)."""

import reflex as rx

from imagegen import routes
from imagegen.state.auth import AuthState
from imagegen.templates import private_page


@private_page(route=routes.BILLING, title="Billing")
def billing() -> rx.Component:
    """The billing page."""
    return rx.vstack(
        rx.card(
            rx.hstack(
                rx.icon("credit-card", size=22),
                rx.vstack(
                    rx.text("Current plan", size="2", color_scheme="gray"),
                    rx.heading(AuthState.plan_label, size="5"),
                    spacing="1",
                ),
                align="center",
                spacing="4",
            ),
            width="100%",
        ),
        rx.callout(
            "Upgrades to Pro and Gold are not open yet.",
            icon="info",
            width="100%",
        ),
        spacing="4",
        width="100%",
        max_width="40rem",
    )
