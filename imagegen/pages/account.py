"""/account: profile, password, signed-in devices, sign-in methods, API keys, credit history,
deletion.
"""

import reflex as rx

from imagegen import routes, security
from imagegen.components.forms import error_alert, field
from imagegen.http import urls
from imagegen.state.account import AccountState
from imagegen.state.auth import AuthState
from imagegen.templates import private_page


def _section(
    title: str, description: str, *children: rx.Component, **props: object
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4", as_="h2"),
            rx.text(description, size="2", color_scheme="gray"),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        **props,
    )


def _field_with_button(
    input_field: rx.Component, button: rx.Component, **form_props: object
) -> rx.Component:
    """A one-field form: the labelled input stretches, its button sits at the end."""
    return rx.form(
        rx.hstack(rx.box(input_field, flex="1"), button, align="end", width="100%"),
        width="100%",
        **form_props,
    )


def profile_card() -> rx.Component:
    """Name (editable), email, plan, verification."""
    return _section(
        "Profile",
        "How you appear in imagegen.",
        rx.data_list.root(
            rx.data_list.item(
                rx.data_list.label("Email"),
                rx.data_list.value(
                    rx.hstack(
                        rx.text(AuthState.user_email),
                        rx.cond(
                            AuthState.email_verified,
                            rx.badge("verified", color_scheme="green"),
                            rx.badge("not verified", color_scheme="amber"),
                        ),
                        spacing="2",
                    )
                ),
            ),
            rx.data_list.item(rx.data_list.label("Plan"), rx.data_list.value(AuthState.plan_label)),
            orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
        ),
        _field_with_button(
            field(
                "Name",
                "name",
                autocomplete="name",
                default_value=AuthState.user_name,
                required=True,
                max_length=100,
            ),
            rx.button("Save name", type="submit", variant="soft"),
            on_submit=AccountState.save_name,
            reset_on_submit=False,
        ),
        error_alert(AccountState.profile_error),
    )


def password_card() -> rx.Component:
    """Change the password (signs out the other devices)."""
    return _section(
        "Password",
        "Changing it signs out your other devices.",
        rx.form(
            rx.vstack(
                rx.flex(
                    rx.box(
                        field(
                            "Current password",
                            "current_password",
                            type_="password",
                            autocomplete="current-password",
                            required=True,
                        ),
                        flex="1",
                        min_width="12rem",
                    ),
                    rx.box(
                        field(
                            "New password",
                            "new_password",
                            type_="password",
                            autocomplete="new-password",
                            required=True,
                            min_length=security.PASSWORD_MIN,
                            max_length=security.PASSWORD_MAX,
                        ),
                        flex="1",
                        min_width="12rem",
                    ),
                    spacing="3",
                    wrap="wrap",
                    width="100%",
                ),
                rx.button("Change password", type="submit", variant="soft"),
                width="100%",
            ),
            on_submit=AccountState.save_password,
            reset_on_submit=True,
            width="100%",
        ),
        error_alert(AccountState.password_error),
    )


# Columns shown from tablets up; on phones their facts go under the first cell.
_WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")
_NARROW_ONLY = rx.breakpoints(initial="block", sm="none")


def _session_row(item: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.flex(
                rx.text(item["device"], style={"word-break": "break-word"}),
                rx.cond(item["current"] != "", rx.badge("this device", color_scheme="green")),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            # Phones: IP and time under the device (their columns are hidden there).
            rx.text(
                item["ip"],
                " · ",
                item["last_used"],
                size="1",
                color_scheme="gray",
                display=_NARROW_ONLY,
            ),
        ),
        rx.table.cell(item["ip"], display=_WIDE_ONLY),
        rx.table.cell(item["last_used"], white_space="nowrap", display=_WIDE_ONLY),
        rx.table.cell(
            rx.button(
                "Sign out",
                size="1",
                variant="soft",
                color_scheme="gray",
                on_click=AccountState.revoke(item["id"]),
                aria_label="Sign out this session",
            ),
            text_align="right",
        ),
        data_session=item["id"],
    )


def sessions_card() -> rx.Component:
    """Signed-in devices."""
    return _section(
        "Signed-in devices",
        "Where your account is signed in. Sign out anything you do not recognise.",
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Device"),
                    rx.table.column_header_cell("IP", display=_WIDE_ONLY),
                    rx.table.column_header_cell("Last used", display=_WIDE_ONLY),
                    rx.table.column_header_cell(""),
                )
            ),
            rx.table.body(rx.foreach(AccountState.sessions, _session_row)),
            width="100%",
            size="1",
        ),
        rx.button(
            "Sign out everywhere else",
            variant="soft",
            color_scheme="gray",
            on_click=AccountState.revoke_others,
            disabled=AccountState.sessions.length() < 2,
        ),
        id="sessions",
    )


def _method_row(method: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.icon("key-round", size=16),
        rx.text(method["provider"]),
        rx.spacer(),
        rx.button(
            "Remove",
            size="1",
            variant="soft",
            color_scheme="gray",
            on_click=AccountState.unlink(method["id"]),
            disabled=AccountState.methods.length() < 2,
            aria_label="Remove " + method["provider"].to(str),
        ),
        align="center",
        width="100%",
    )


# The OAuth start path around its provider (the provider is a var of the page).
_OAUTH_START = routes.API_OAUTH_START.partition("{provider}")


def _link_form(provider: rx.Var) -> rx.Component:
    return rx.el.form(
        rx.el.input(type="hidden", name="link", value="1"),
        rx.button("Link " + provider["label"].to(str), type="submit", size="1", variant="outline"),
        action=urls.backend(_OAUTH_START[0]) + provider["id"].to(str) + _OAUTH_START[2],
        method="get",
        on_submit=None,
    )


def methods_card() -> rx.Component:
    """How the user can sign in; link more, remove any but the last."""
    return _section(
        "Sign-in methods",
        "Ways you can sign in to this account. The last one cannot be removed.",
        rx.vstack(rx.foreach(AccountState.methods, _method_row), spacing="2", width="100%"),
        rx.hstack(rx.foreach(AccountState.linkable, _link_form), spacing="2", wrap="wrap"),
        id="sign-in-methods",
    )


def _key_row(key: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(key["name"], weight="medium")),
        rx.table.cell(rx.code(key["prefix"], variant="ghost")),
        rx.table.cell(key["created"], white_space="nowrap", display=_WIDE_ONLY),
        rx.table.cell(key["last_used"]),
        rx.table.cell(
            rx.cond(
                key["revoked"] != "",
                rx.badge(key["revoked"], color_scheme="gray"),
                rx.alert_dialog.root(
                    rx.alert_dialog.trigger(
                        rx.button(
                            "Revoke",
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            aria_label="Revoke key " + key["name"].to(str),
                        )
                    ),
                    rx.alert_dialog.content(
                        rx.alert_dialog.title("Revoke “", key["name"], "”?"),
                        rx.alert_dialog.description(
                            "Scripts using this key stop working at once. This cannot be undone.",
                            size="2",
                        ),
                        rx.flex(
                            rx.alert_dialog.cancel(
                                rx.button("Keep", variant="soft", color_scheme="gray")
                            ),
                            rx.alert_dialog.action(
                                rx.button(
                                    "Revoke",
                                    color_scheme="red",
                                    on_click=AccountState.revoke_api_key(key["id"]),
                                )
                            ),
                            spacing="3",
                            justify="end",
                            margin_top="1rem",
                        ),
                        max_width="24rem",
                    ),
                ),
            ),
            text_align="right",
        ),
        data_api_key=key["id"],
    )


def _new_key_callout() -> rx.Component:
    return rx.callout.root(
        rx.vstack(
            rx.callout.text(
                "Copy your new key now: for your safety it is not shown again.", weight="medium"
            ),
            rx.hstack(
                rx.code(AccountState.new_api_key, id="new-api-key", word_break="break-all"),
                rx.icon_button(
                    rx.icon("copy", size=14),
                    size="1",
                    variant="soft",
                    on_click=[
                        rx.set_clipboard(AccountState.new_api_key),
                        rx.toast.info("Key copied", duration=1500),
                    ],
                    aria_label="Copy API key",
                ),
                align="center",
                spacing="2",
            ),
            rx.button("Done", size="1", variant="soft", on_click=AccountState.dismiss_new_key),
            spacing="2",
        ),
        color_scheme="green",
        role="status",
        width="100%",
    )


def api_keys_card() -> rx.Component:
    """Keys for the REST API: create (shown once), list, revoke."""
    return _section(
        "API keys",
        "Generate images from scripts and apps with any OpenAI client. Requests cost credits "
        "exactly like the app, and the images appear in your gallery.",
        rx.text(
            "Base URL ",
            rx.code(AccountState.api_base_url),
            " · send the key as ",
            rx.code("Authorization: Bearer <key>"),
            size="2",
        ),
        rx.cond(AccountState.new_api_key != "", _new_key_callout()),
        _field_with_button(
            field(
                "Key name",
                "key_name",
                placeholder="e.g. my-script",
                autocomplete="off",
                required=True,
                max_length=64,
            ),
            rx.button("Create key", type="submit", variant="soft"),
            on_submit=AccountState.create_api_key,
            reset_on_submit=True,
        ),
        error_alert(AccountState.api_key_error),
        rx.cond(
            AccountState.api_keys.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Name"),
                        rx.table.column_header_cell("Key"),
                        rx.table.column_header_cell("Created", display=_WIDE_ONLY),
                        rx.table.column_header_cell("Last used"),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(AccountState.api_keys, _key_row)),
                width="100%",
                size="1",
            ),
            rx.text("No keys yet.", color_scheme="gray", size="2"),
        ),
        id="api-keys",
    )


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
    return _section(
        "Credit history",
        "Each image costs credits when you ask for it; failed or cancelled ones are refunded.",
        rx.cond(
            ~AccountState.loaded,
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
        id="credit-history",
    )


def notifications_card() -> rx.Component:
    """Email when a long job finishes."""
    return _section(
        "Notifications",
        "When a job takes more than a few minutes, we can email you once it is done.",
        rx.el.label(
            rx.hstack(
                rx.switch(
                    checked=AccountState.email_when_done,
                    on_change=AccountState.set_email_when_done,
                    id="email-when-done",
                ),
                rx.text("Email me when a long job finishes", size="2"),
                align="center",
                spacing="3",
            ),
            html_for="email-when-done",
        ),
        _browser_notices(),
        id="notifications",
    )


def _browser_notices() -> rx.Component:
    """Notifications in this browser when images finish in a background tab; the browser
    asks for permission only after the button is clicked.
    """
    return rx.flex(
        rx.vstack(
            rx.text("Browser notifications", size="2", weight="medium"),
            rx.text(
                rx.match(
                    AccountState.browser_notices,
                    ("on", "On in this browser: we tell you when images finish in another tab."),
                    ("blocked", "Blocked for this site in your browser's settings."),
                    ("unsupported", "This browser cannot show notifications."),
                    "Get a notification when images finish while you are in another tab.",
                ),
                size="1",
                color_scheme="gray",
                data_testid="browser-notices",
            ),
            spacing="1",
            flex="1",
            min_width="12rem",
        ),
        rx.match(
            AccountState.browser_notices,
            (
                "on",
                rx.button(
                    "Turn off",
                    size="2",
                    variant="soft",
                    color_scheme="gray",
                    on_click=AccountState.stop_browser_notices,
                ),
            ),
            (
                "off",
                rx.button(
                    rx.icon("bell", size=16),
                    "Notify me in this browser",
                    size="2",
                    variant="soft",
                    on_click=AccountState.ask_browser_notices,
                ),
            ),
            rx.fragment(),
        ),
        align="center",
        justify="between",
        spacing="3",
        wrap="wrap",
        width="100%",
        on_mount=AccountState.read_browser_notices,
    )


def export_card() -> rx.Component:
    """Export my data: every image plus a JSON of prompts, settings, credits and plans."""
    status = AccountState.export["status"]
    return _section(
        "Export my data",
        "A zip of every image, with a JSON file of your prompts, settings, dates, credit "
        "history and plan history. We prepare it in the background; the link works for 24 hours.",
        rx.cond(
            AccountState.export.contains("status"),
            rx.callout(
                AccountState.export["text"],
                icon=rx.match(
                    status,
                    ("ready", "circle-check"),
                    ("pending", "loader"),
                    "info",
                ),
                color_scheme=rx.match(
                    status, ("ready", "green"), ("failed", "red"), ("pending", "blue"), "gray"
                ),
                role="status",
                width="100%",
            ),
        ),
        rx.cond(
            AccountState.export_error != "",
            rx.callout(
                AccountState.export_error,
                icon="info",
                color_scheme="amber",
                role="alert",
                width="100%",
            ),
        ),
        rx.hstack(
            rx.cond(
                status == "ready",
                rx.link(
                    rx.button(rx.icon("download", size=16), "Download my data"),
                    href=AccountState.export["download"],
                ),
            ),
            rx.button(
                rx.icon("archive", size=16),
                rx.cond(
                    AccountState.export.contains("status"), "Start a new export", "Export my data"
                ),
                variant=rx.cond(status == "ready", "soft", "solid"),
                on_click=AccountState.start_export,
                disabled=status == "pending",
            ),
            spacing="3",
            wrap="wrap",
        ),
        rx.cond(
            status == "pending",
            rx.moment(
                interval=3000,
                format="HH:mm:ss",
                on_change=AccountState.refresh_export,
                display="none",
                aria_hidden="true",
            ),
        ),
        id="export",
    )


def delete_card() -> rx.Component:
    """Delete the account after typing the email."""
    return _section(
        "Delete account",
        "Removes your images, their files and everything else. This cannot be undone.",
        _field_with_button(
            field(
                "Type your email to confirm",
                "confirm_email",
                type_="email",
                autocomplete="off",
                required=True,
            ),
            rx.button("Delete account", type="submit", color_scheme="red"),
            on_submit=AccountState.delete_account,
            reset_on_submit=False,
        ),
        rx.cond(
            AccountState.delete_error != "",
            rx.callout(
                rx.text(
                    AccountState.delete_error, " ", rx.link("Go to Billing", href=routes.BILLING)
                ),
                icon="triangle-alert",
                color_scheme="red",
                role="alert",
                width="100%",
            ),
        ),
        border="1px solid var(--red-a6)",
    )


@private_page(route=routes.ACCOUNT, title="Account", on_load=AccountState.load)
def account() -> rx.Component:
    """The account page."""
    return rx.vstack(
        profile_card(),
        password_card(),
        sessions_card(),
        methods_card(),
        api_keys_card(),
        ledger_card(),
        notifications_card(),
        export_card(),
        delete_card(),
        spacing="4",
        width="100%",
        max_width="52rem",
    )
