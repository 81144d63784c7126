"""/: the generate page: prompt form, credits, and the live gallery."""

import reflex as rx

from imagegen import routes
from imagegen.components.gallery import gallery, offline_notice, prompt_form
from imagegen.state.gallery import GalleryState
from imagegen.templates import private_page


@private_page(route=routes.HOME, title="Generate", on_load=GalleryState.load)
def home() -> rx.Component:
    """The signed-in home page."""
    return rx.vstack(
        prompt_form(),
        offline_notice(),
        gallery(),
        spacing="5",
        width="100%",
    )
