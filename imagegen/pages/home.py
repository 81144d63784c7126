"""/: the generate page (prompt form and gallery arrive with the generation pipeline)."""

import reflex as rx

from imagegen import routes
from imagegen.state.auth import AuthState
from imagegen.templates import private_page


@private_page(route=routes.HOME, title="Generate")
def home() -> rx.Component:
    """The signed-in home page."""
    return rx.vstack(
        rx.heading("Hello, ", AuthState.user_name, size="7"),
        rx.text("Your gallery lives here.", color_scheme="gray"),
        rx.center(
            rx.vstack(
                rx.icon("images", size=40, color="var(--gray-9)"),
                rx.text("No images yet", weight="medium", size="4"),
                rx.text(
                    "Images you create will appear here, in every tab you have open.",
                    color_scheme="gray",
                    size="2",
                    align="center",
                ),
                align="center",
                spacing="2",
            ),
            width="100%",
            padding="4rem 1rem",
            border="1px dashed var(--gray-a6)",
            border_radius="var(--radius-4)",
        ),
        spacing="4",
        width="100%",
    )
