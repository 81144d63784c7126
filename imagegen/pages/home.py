"""/: the generate page: prompt form, credits, and the live gallery."""

import reflex as rx

from imagegen import routes
from imagegen.components.gallery import gallery, offline_notice, prompt_form
from imagegen.state.auth import AuthState, VerifyBannerState
from imagegen.state.gallery import GalleryState
from imagegen.templates import private_page


def verify_banner() -> rx.Component:
    """Asks a new user to confirm their email, with a rate-limited resend."""
    return rx.cond(
        ~AuthState.email_verified,
        rx.callout.root(
            rx.callout.icon(rx.icon("mail")),
            rx.flex(
                rx.callout.text(
                    "Please confirm your email: we sent a link to ",
                    rx.text.strong(AuthState.user_email),
                    ".",
                ),
                rx.button(
                    rx.cond(VerifyBannerState.resent, "Sent again", "Resend email"),
                    size="1",
                    variant="soft",
                    on_click=VerifyBannerState.resend,
                    disabled=VerifyBannerState.resent,
                ),
                spacing="3",
                align="center",
                justify="between",
                wrap="wrap",
                width="100%",
            ),
            color_scheme="blue",
            width="100%",
        ),
    )


def home_content() -> rx.Component:
    """The form and the gallery (also under an image's view)."""
    return rx.vstack(
        verify_banner(),
        prompt_form(),
        offline_notice(),
        gallery(),
        spacing="5",
        width="100%",
    )


@private_page(
    route=routes.HOME,
    title="Generate",
    on_load=GalleryState.load,
    # Not `instant` yet: the prompt is a server-side controlled input, so text typed before
    # hydration is lost (tests/e2e/test_gallery_view.py); instant once the prompt lives on the
    # client (issue 18 target 2).
    checks_login=True,
)
def home() -> rx.Component:
    """The signed-in home page."""
    return home_content()
