"""/billing: Free, Pro and Gold with their allowances; upgrade through Polar, manage billing."""

import reflex as rx

from imagegen import routes, styles
from imagegen.settings import get_settings
from imagegen.state.billing import BillingState
from imagegen.state.feed import UserFeed
from imagegen.templates import private_page


def _allowance(credits: int) -> str:
    hours = get_settings().credit_window_hours
    period = "a day" if hours == 24 else f"every {hours} hours"
    return f"{credits:,} credits {period} (1 per image)"


def _plan_card(
    plan: str, name: str, price: str, credits: int, action: rx.Component | None
) -> rx.Component:
    current = UserFeed.plan == plan
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(name, size="5", as_="h2"),
                rx.spacer(),
                rx.cond(current, rx.badge("Current plan", color_scheme="green", variant="soft")),
                width="100%",
                align="center",
            ),
            rx.text(price, size="6", weight="bold"),
            rx.vstack(
                rx.hstack(
                    rx.icon("check", size=16, color="var(--green-10)"), rx.text(_allowance(credits))
                ),
                rx.hstack(
                    rx.icon("check", size=16, color="var(--green-10)"),
                    rx.text("Every size, quality and style"),
                ),
                rx.hstack(
                    rx.icon("check", size=16, color="var(--green-10)"),
                    rx.text("Live gallery in every tab"),
                ),
                spacing="2",
            ),
            rx.spacer(),
            action if action is not None else rx.fragment(),
            spacing="4",
            height="100%",
            width="100%",
        ),
        border=rx.cond(current, f"2px solid var(--{styles.ACCENT}-9)", "1px solid var(--gray-a5)"),
        width="100%",
        data_plan=plan,
    )


def _upgrade_button(plan: str, label: str) -> rx.Component:
    return rx.cond(
        UserFeed.plan == f"{plan}_user",
        rx.button("Your plan", disabled=True, variant="soft", width="100%"),
        rx.button(
            rx.cond(
                BillingState.busy == plan, rx.spinner(size="2"), rx.icon("arrow-up-right", size=16)
            ),
            label,
            on_click=BillingState.upgrade(plan),
            disabled=~BillingState.billing_enabled | (BillingState.busy != ""),
            width="100%",
        ),
    )


@private_page(route=routes.BILLING, title="Billing", on_load=BillingState.load)
def billing() -> rx.Component:
    """The billing page."""
    settings = get_settings()
    return rx.vstack(
        rx.cond(
            BillingState.checkout_success,
            rx.callout(
                "Thank you! Your plan changes as soon as Polar confirms the payment — usually within seconds.",
                icon="party-popper",
                color_scheme="green",
                width="100%",
            ),
        ),
        rx.cond(
            ~BillingState.billing_enabled,
            rx.callout(
                "Paid plans cannot be bought here yet. The plans are shown so you can compare them.",
                icon="info",
                color_scheme="gray",
                width="100%",
            ),
        ),
        rx.cond(
            BillingState.error != "",
            rx.callout(
                BillingState.error,
                icon="triangle-alert",
                color_scheme="red",
                role="alert",
                width="100%",
            ),
        ),
        rx.hstack(
            rx.vstack(
                rx.text("Current plan", size="2", color_scheme="gray"),
                rx.hstack(
                    rx.heading(UserFeed.plan_label, size="6", as_="p"),
                    rx.cond(
                        BillingState.renewal != "",
                        rx.text(BillingState.renewal, color_scheme="gray", size="2"),
                    ),
                    align="baseline",
                    spacing="3",
                ),
                rx.text(
                    rx.cond(
                        UserFeed.credits_extra > 0,
                        rx.text.span(
                            UserFeed.credits_left.to_string(),
                            " credits left: your plan's ",
                            UserFeed.credits_limit.to_string(),
                            " plus ",
                            UserFeed.credits_extra.to_string(),
                            " extra",
                        ),
                        rx.text.span(
                            UserFeed.credits_left.to_string(),
                            " of ",
                            UserFeed.credits_limit.to_string(),
                            " credits left",
                        ),
                    ),
                    size="2",
                    color_scheme="gray",
                    id="billing-credits",
                ),
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(
                UserFeed.plan != "free_user",
                rx.button(
                    rx.cond(
                        BillingState.busy == "portal",
                        rx.spinner(size="2"),
                        rx.icon("settings", size=16),
                    ),
                    "Manage billing",
                    on_click=BillingState.manage,
                    variant="soft",
                    disabled=~BillingState.billing_enabled | (BillingState.busy != ""),
                ),
            ),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        rx.grid(
            _plan_card("free_user", "Free", "$0", settings.credits_free_user, None),
            _plan_card(
                "pro_user",
                "Pro",
                settings.price_pro_text,
                settings.credits_pro_user,
                _upgrade_button("pro", "Upgrade to Pro"),
            ),
            _plan_card(
                "gold_user",
                "Gold",
                settings.price_gold_text,
                settings.credits_gold_user,
                _upgrade_button("gold", "Upgrade to Gold"),
            ),
            columns=rx.breakpoints(initial="1", md="3"),
            spacing="4",
            width="100%",
        ),
        spacing="5",
        width="100%",
        max_width="64rem",
    )
