"""/account: the user's profile and credit ledger (sessions and linked sign-ins come later)."""

import reflex as rx

from imagegen import routes
from imagegen.state.account import AccountState
from imagegen.state.auth import AuthState
from imagegen.templates import private_page


def _row(label: str, value: rx.Var) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def _ledger_row(entry: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(entry["when"], white_space="nowrap"),
        rx.table.cell(entry["reason"]),
        rx.table.cell(
            rx.badge(
                entry["amount"],
                color_scheme=rx.cond(entry["kind"] == "refund", "green", "gray"),
                variant="soft",
            ),
            text_align="right",
        ),
    )


def ledger_card() -> rx.Component:
    """Every debit and refund, newest first."""
    return rx.card(
        rx.vstack(
            rx.heading("Credit history", size="4"),
            rx.text(
                "Each image costs credits when you ask for it; failed or cancelled ones are refunded.",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                ~AccountState.ledger_loaded,
                rx.skeleton(rx.box(height="6rem"), loading=True, width="100%"),
                rx.cond(
                    AccountState.ledger.length() > 0,
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("When"),
                                rx.table.column_header_cell("What"),
                                rx.table.column_header_cell("Credits", text_align="right"),
                            )
                        ),
                        rx.table.body(rx.foreach(AccountState.ledger, _ledger_row)),
                        width="100%",
                        size="1",
                    ),
                    rx.text("No credits used yet.", color_scheme="gray", size="2"),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        id="credit-history",
        width="100%",
    )


@private_page(route=routes.ACCOUNT, title="Account", on_load=AccountState.load)
def account() -> rx.Component:
    """The account page."""
    return rx.vstack(
        rx.card(
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
        ),
        ledger_card(),
        spacing="4",
        width="100%",
        max_width="48rem",
    )
