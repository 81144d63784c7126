"""/admin: plan counts and signups, users (plan, credits, disable), recent jobs, failures by
reason, webhook log, audit log. Non-admins never get here (the server answers 404) and, if
they navigate inside the app, see "not found" and receive no data.
"""

from collections.abc import Callable

import reflex as rx

from imagegen import routes
from imagegen.models import PLAN_LABELS, PLANS
from imagegen.state.admin import AdminState
from imagegen.templates import private_page


def _stat(label: str, value: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.heading(value, size="6", as_="p"),
            spacing="1",
        ),
        flex="1",
        min_width="8rem",
    )


def _chart(title: str, chart: Callable[..., rx.Component], *series: rx.Component, data: rx.Var):
    """A titled card with a day-by-day chart (days along x, whole numbers up y)."""
    return rx.card(
        rx.vstack(
            rx.heading(title, size="3", as_="h2"),
            chart(
                *series,
                rx.recharts.x_axis(data_key="day", font_size=11),
                rx.recharts.y_axis(allow_decimals=False, width=30, font_size=11),
                rx.recharts.graphing_tooltip(),
                rx.recharts.legend(),
                data=data,
                width="100%",
                height=220,
            ),
            width="100%",
        ),
        width="100%",
    )


def _charts() -> rx.Component:
    step = {"type_": "stepAfter", "dot": False}
    return rx.grid(
        _chart(
            "Signups per day (by current plan)",
            rx.recharts.bar_chart,
            rx.recharts.bar(data_key="Free", stack_id="plans", fill="var(--gray-8)"),
            rx.recharts.bar(data_key="Pro", stack_id="plans", fill="var(--accent-9)"),
            rx.recharts.bar(data_key="Gold", stack_id="plans", fill="var(--amber-9)"),
            data=AdminState.signups,
        ),
        _chart(
            "Paid accounts over time",
            rx.recharts.line_chart,
            rx.recharts.line(data_key="Pro", stroke="var(--accent-9)", **step),
            rx.recharts.line(data_key="Gold", stroke="var(--amber-9)", **step),
            data=AdminState.paid,
        ),
        columns=rx.breakpoints(initial="1", lg="2"),
        spacing="3",
        width="100%",
    )


def _user_row(user: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(user["name"], weight="medium"),
                rx.text(user["email"], size="1", color_scheme="gray"),
                rx.cond(user["disabled"] != "", rx.badge("disabled", color_scheme="red")),
                rx.cond(user["role"] == "admin", rx.badge("admin", color_scheme="violet")),
                spacing="1",
                align="start",
            )
        ),
        rx.table.cell(
            rx.select.root(
                rx.select.trigger(aria_label="Plan of " + user["email"].to(str)),
                rx.select.content(
                    *(rx.select.item(PLAN_LABELS[plan], value=plan) for plan in PLANS)
                ),
                value=user["plan"],
                on_change=lambda plan: AdminState.change_plan(user["id"], plan),
                size="1",
            )
        ),
        rx.table.cell(user["credits_used"], text_align="right"),
        rx.table.cell(user["images"], text_align="right"),
        rx.table.cell(user["last_seen"], white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                rx.form(
                    rx.hstack(
                        rx.el.input(type="hidden", name="user_id", value=user["id"]),
                        rx.input(
                            name="amount",
                            type="number",
                            min=1,
                            placeholder="credits",
                            size="1",
                            width="5.5rem",
                            aria_label="Credits to grant " + user["email"].to(str),
                        ),
                        rx.button(
                            "Grant",
                            size="1",
                            variant="soft",
                            type="submit",
                            aria_label="Grant credits to " + user["email"].to(str),
                        ),
                        spacing="1",
                    ),
                    on_submit=AdminState.grant,
                    reset_on_submit=True,
                ),
                rx.cond(
                    user["disabled"] != "",
                    rx.button(
                        "Enable",
                        size="1",
                        variant="soft",
                        on_click=AdminState.set_disabled(user["id"], False),
                        aria_label="Enable " + user["email"].to(str),
                    ),
                    rx.button(
                        "Disable",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=AdminState.set_disabled(user["id"], True),
                        aria_label="Disable " + user["email"].to(str),
                    ),
                ),
                spacing="2",
                justify="end",
            ),
        ),
        data_user=user["email"],
    )


def _users() -> rx.Component:
    return rx.vstack(
        rx.vstack(
            rx.el.label("Search users", html_for="admin-search", font_size="0.85rem"),
            rx.input(
                id="admin-search",
                placeholder="email or name",
                value=AdminState.search,
                on_change=AdminState.set_search.debounce(300),
                width="100%",
                max_width="24rem",
            ),
            spacing="1",
        ),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("User"),
                        rx.table.column_header_cell("Plan"),
                        rx.table.column_header_cell("Credits this window", text_align="right"),
                        rx.table.column_header_cell("Images", text_align="right"),
                        rx.table.column_header_cell("Last seen"),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(AdminState.users, _user_row)),
                size="1",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _simple_table(headers: list[str], rows: rx.Var, keys: list[str]) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in headers))),
            rx.table.body(
                rx.foreach(
                    rows, lambda row: rx.table.row(*(rx.table.cell(row[key]) for key in keys))
                )
            ),
            size="1",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def _configuration() -> rx.Component:
    """Settings this server runs without (users see plain words; admins see the names)."""
    return rx.cond(
        AdminState.config_notes.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("settings-2")),
            rx.vstack(
                rx.callout.text(rx.text.strong("Configuration")),
                rx.foreach(
                    AdminState.config_notes,
                    lambda note: rx.callout.text(
                        rx.code(note["setting"], variant="ghost"), " ", note["effect"], size="2"
                    ),
                ),
                spacing="1",
            ),
            color_scheme="gray",
            variant="surface",
            width="100%",
            data_testid="configuration",
        ),
    )


def _console() -> rx.Component:
    return rx.vstack(
        _configuration(),
        rx.flex(
            _stat("Free", AdminState.plans["free_user"].to(str)),
            _stat("Pro", AdminState.plans["pro_user"].to(str)),
            _stat("Gold", AdminState.plans["gold_user"].to(str)),
            _stat("Active API keys", AdminState.plans["api_keys"].to(str)),
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        _charts(),
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger("Users", value="users"),
                rx.tabs.trigger("Recent jobs", value="jobs"),
                rx.tabs.trigger("Failures", value="failures"),
                rx.tabs.trigger("Webhooks", value="webhooks"),
                rx.tabs.trigger("Audit log", value="audit"),
                # Phones: the tabs wrap onto a second line rather than run off the screen.
                flex_wrap="wrap",
                size=rx.breakpoints(initial="1", sm="2"),
            ),
            rx.tabs.content(_users(), value="users", padding_top="1rem"),
            rx.tabs.content(
                _simple_table(
                    ["Image", "User", "Status", "Latency", "Attempts", "Reason", "When"],
                    AdminState.jobs,
                    ["id", "email", "status", "seconds", "attempts", "error", "when"],
                ),
                value="jobs",
                padding_top="1rem",
            ),
            rx.tabs.content(
                rx.cond(
                    AdminState.failures.length() > 0,
                    _simple_table(
                        ["Reason (last 7 days)", "Count"], AdminState.failures, ["reason", "count"]
                    ),
                    rx.text("No failures in the last 7 days.", color_scheme="gray", size="2"),
                ),
                value="failures",
                padding_top="1rem",
            ),
            rx.tabs.content(
                _simple_table(
                    ["Delivery", "Type", "Outcome", "Received"],
                    AdminState.webhooks,
                    ["id", "type", "outcome", "when"],
                ),
                value="webhooks",
                padding_top="1rem",
            ),
            rx.tabs.content(
                _simple_table(
                    ["When", "Who", "Action", "User", "Details"],
                    AdminState.audit,
                    ["when", "who", "action", "target", "details"],
                ),
                value="audit",
                padding_top="1rem",
            ),
            default_value="users",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


@private_page(route=routes.ADMIN, title="Admin", on_load=AdminState.load)
def admin() -> rx.Component:
    """The console, or "not found" for anyone who is not an admin."""
    return rx.cond(
        AdminState.allowed,
        _console(),
        rx.cond(
            AdminState.checked,
            rx.center(
                rx.vstack(
                    rx.heading("Not found", size="5", as_="h2"),
                    rx.text("There is no page here.", color_scheme="gray"),
                    align="center",
                ),
                padding="4rem 1rem",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding="4rem", width="100%"),
        ),
    )
