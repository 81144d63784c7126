"""/images/<id>: one image large over the gallery; reload and bookmarks work, owner only."""

import reflex as rx

from imagegen import routes
from imagegen.components.image_view import image_view
from imagegen.pages.home import home_content
from imagegen.state.image_view import ImageViewState
from imagegen.templates import private_page


@private_page(
    route=routes.IMAGE, title="Image", on_load=ImageViewState.open_view, active=routes.HOME
)
def image() -> rx.Component:
    """The gallery with the image's view open over it."""
    return rx.fragment(home_content(), image_view())
