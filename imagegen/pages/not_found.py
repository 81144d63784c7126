"""Any unknown URL: the app's look, plain words, and a way home."""

import reflex as rx

from imagegen import routes, styles
from imagegen.components.layout import logo
from imagegen.templates import public_page

# Reflex serves the page registered under this route for every path it does not know.
NOT_FOUND_ROUTE = "404"


@public_page(route=NOT_FOUND_ROUTE, title="Page not found")
def not_found() -> rx.Component:
    """The 404 page."""
    return rx.center(
        rx.vstack(
            rx.link(logo(), href=routes.HOME, underline="none", color="inherit"),
            rx.el.main(
                rx.card(
                    rx.vstack(
                        rx.center(
                            rx.icon("map-pin-off", size=28, color=f"var(--{styles.ACCENT}-11)"),
                            width="3.5rem",
                            height="3.5rem",
                            border_radius="full",
                            background=f"var(--{styles.ACCENT}-a3)",
                        ),
                        rx.heading("Page not found", size="6", as_="h1"),
                        rx.text(
                            "There is nothing at this address. The link may be mistyped, "
                            "or the page was moved.",
                            color_scheme="gray",
                            align="center",
                        ),
                        rx.link(
                            rx.button(rx.icon("house", size=16), "Go to your images", size="3"),
                            href=routes.HOME,
                        ),
                        align="center",
                        spacing="4",
                        padding="1rem",
                    ),
                    size="4",
                    width="100%",
                ),
                width="100%",
            ),
            align="center",
            spacing="5",
            width="100%",
            max_width=styles.CARD_MAX_WIDTH,
        ),
        min_height="100vh",
        padding="1rem",
        background=f"radial-gradient(circle at 20% 0%, var(--{styles.ACCENT}-a3), transparent 45%)",
    )
