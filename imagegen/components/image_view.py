"""The image view: one image fit to the screen, its prompt and settings, and its actions."""

import reflex as rx

from imagegen import styles
from imagegen.cards import VARIATIONS
from imagegen.components.gallery import (
    SIZE_LABELS,
    STYLE_LABELS,
    confirm_delete,
    regenerate_label,
    undo_bar,
    variations_label,
)
from imagegen.components.swipe import swipe_area
from imagegen.services.generation import QUALITIES
from imagegen.state.gallery import GalleryState
from imagegen.state.image_view import ImageViewState

V = ImageViewState.shown


def _label_of(value: rx.Var, labels: dict[str, str]) -> rx.Component:
    return rx.match(value, *((key, text) for key, text in labels.items()), value)


def _step(direction: str) -> rx.Component:
    """The ← / → buttons over the image (the keys do the same; a tap on phones)."""
    target = ImageViewState.view_prev if direction == "prev" else ImageViewState.view_next
    return rx.icon_button(
        rx.icon("chevron-left" if direction == "prev" else "chevron-right", size=22),
        on_click=ImageViewState.key_nav("ArrowLeft" if direction == "prev" else "ArrowRight"),
        disabled=target == "",
        aria_label="Previous image" if direction == "prev" else "Next image",
        variant="soft",
        color_scheme="gray",
        radius="full",
        size="3",
        position="absolute",
        top="50%",
        transform="translateY(-50%)",
        left="0.75rem" if direction == "prev" else None,
        right="0.75rem" if direction == "next" else None,
        background="var(--color-panel-translucent)",
        backdrop_filter="blur(6px)",
        _disabled={"opacity": "0"},
    )


def _picture() -> rx.Component:
    """The image as large as the screen allows, never cropped; swipe left or right on it
    (phones) for the next or previous image.
    """
    return swipe_area(
        _picture_box(),
        on_touch_start=ImageViewState.swipe_start,
        on_touch_end=ImageViewState.swipe_end,
        # Sideways moves are ours (the swipe), vertical ones still scroll the view.
        touch_action="pan-y",
        display="flex",
        flex="1",
        min_width="0",
        data_testid="view-swipe",
    )


def _picture_box() -> rx.Component:
    return rx.center(
        rx.match(
            V["status"],
            (
                "completed",
                rx.image(
                    src=V["url"],
                    alt=V["prompt"],
                    max_width="100%",
                    max_height=["50dvh", "60dvh", "calc(100dvh - 6rem)"],
                    width="auto",
                    height="auto",
                    object_fit="contain",
                    border_radius="var(--radius-3)",
                    box_shadow="var(--shadow-4)",
                    data_testid="view-image",
                ),
            ),
            (
                "failed",
                rx.vstack(
                    rx.icon("image-off", size=36, color="var(--gray-9)"),
                    rx.text(V["status_label"], weight="medium"),
                    rx.text(V["error"], size="2", color_scheme="gray", align="center"),
                    align="center",
                ),
            ),
            (
                "cancelled",
                rx.vstack(
                    rx.icon("circle-slash", size=36, color="var(--gray-9)"),
                    rx.text(V["status_label"], weight="medium"),
                    align="center",
                ),
            ),
            rx.vstack(
                rx.spinner(size="3"),
                rx.text(V["status_label"], color_scheme="gray"),
                rx.cond(
                    V["queue_position"] != "",
                    rx.text(
                        V["queue_position"],
                        " · ",
                        V["queue_eta"],
                        size="2",
                        color_scheme="gray",
                        data_testid="view-queue-spot",
                    ),
                ),
                align="center",
            ),
        ),
        _step("prev"),
        _step("next"),
        # Phones: the details (and their close button) are below the picture; one up here.
        rx.dialog.close(
            rx.icon_button(
                rx.icon("x", size=18),
                aria_label="Close image",
                variant="soft",
                color_scheme="gray",
                radius="full",
                position="absolute",
                top="0.5rem",
                right="0.5rem",
                background="var(--color-panel-translucent)",
                backdrop_filter="blur(6px)",
                display=rx.breakpoints(initial="inline-flex", md="none"),
            )
        ),
        position="relative",
        flex="1",
        min_width="0",
        width="100%",
        min_height=["40dvh", "50dvh", "calc(100dvh - 6rem)"],
        padding=["0.5rem", "1rem 3.5rem"],
        background="var(--gray-a2)",
        border_radius="var(--radius-4)",
    )


def _fact(label: str, value: rx.Component | rx.Var) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label, min_width="5rem"), rx.data_list.value(value))


def _action(
    icon: str, label: str | rx.Var, on_click: object, color_scheme: str = "gray"
) -> rx.Component:
    return rx.button(
        rx.icon(icon, size=16),
        label,
        on_click=on_click,
        variant="soft",
        color_scheme=color_scheme,
        justify_content="start",
        width="100%",
    )


def _actions() -> rx.Component:
    completed = V["status"] == "completed"
    return rx.vstack(
        rx.cond(
            completed,
            rx.button(
                rx.icon("download", size=16),
                "Download",
                on_click=rx.download(url=V["download"]),
                width="100%",
            ),
        ),
        rx.vstack(
            rx.cond(
                completed,
                rx.cond(
                    V["favorite"] == "1",
                    _action(
                        "heart",
                        "Remove from favorites",
                        ImageViewState.toggle_favorite_view,
                        color_scheme="red",
                    ),
                    _action("heart", "Add to favorites", ImageViewState.toggle_favorite_view),
                ),
            ),
            _action("copy", "Copy prompt", GalleryState.copy_prompt(V["prompt"])),
            _action("wand-sparkles", "Use these settings", ImageViewState.use_view_settings),
            _action("refresh-cw", regenerate_label(V), GalleryState.regenerate(V, 1)),
            _action(
                "layers",
                variations_label(V),
                GalleryState.variations(V, VARIATIONS),
            ),
            rx.cond(
                completed,
                rx.cond(
                    V["share_url"] == "",
                    _action("share-2", "Share", ImageViewState.share_view),
                    _action("link-2-off", "Stop sharing", ImageViewState.stop_sharing_view),
                ),
            ),
            _action(
                "trash-2",
                "Delete",
                ImageViewState.ask_delete_view(True),
                color_scheme="red",
            ),
            spacing="2",
            width="100%",
        ),
        rx.cond(
            V["share_url"] != "",
            rx.hstack(
                rx.icon("globe", size=14, color="var(--green-11)", flex_shrink="0"),
                rx.link("Public link", href=V["share_url"], is_external=True, size="2"),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("link", size=14),
                    on_click=GalleryState.copy_link(V["share_url"]),
                    aria_label="Copy public link",
                    size="1",
                    variant="ghost",
                ),
                align="center",
                width="100%",
                padding="0.4rem 0.6rem",
                border_radius="var(--radius-3)",
                background="var(--green-a2)",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _details() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.dialog.title("Image details", size="4", margin="0", custom_attrs={"as": "h2"}),
            rx.spacer(),
            rx.dialog.close(
                rx.icon_button(
                    rx.icon("x", size=18),
                    aria_label="Close",
                    variant="ghost",
                    color_scheme="gray",
                )
            ),
            align="center",
            width="100%",
        ),
        rx.dialog.description(
            V["prompt"],
            size="2",
            style={"white-space": "pre-wrap", "word-break": "break-word"},
            max_height=["8rem", "12rem", "40dvh"],
            overflow_y="auto",
            data_testid="view-prompt",
        ),
        rx.data_list.root(
            _fact("Size", _label_of(V["size"], SIZE_LABELS)),
            _fact("Quality", _label_of(V["quality"], {q: q.capitalize() for q in QUALITIES})),
            _fact("Style", _label_of(V["style"], {"": "No style", **STYLE_LABELS})),
            _fact("Created", V["created"]),
            rx.cond(V["status"] != "completed", _fact("Status", V["status_label"])),
            size="2",
            orientation="horizontal",
        ),
        _actions(),
        spacing="4",
        width=["100%", "100%", "21rem"],
        flex_shrink="0",
    )


def _missing() -> rx.Component:
    return rx.vstack(
        rx.dialog.title("Image not found", size="5", custom_attrs={"as": "h2"}),
        rx.dialog.description(
            "It may have been deleted, or the link is wrong.", color_scheme="gray"
        ),
        rx.dialog.close(rx.button("Back to your images")),
        align="center",
        spacing="3",
        padding="3rem 1rem",
        width="100%",
    )


def _delete_confirm() -> rx.Component:
    return confirm_delete(
        "Delete this image?",
        open_=ImageViewState.view_confirm_delete,
        on_open_change=ImageViewState.ask_delete_view,
        on_delete=ImageViewState.delete_view,
    )


def image_view() -> rx.Component:
    """The view as a modal dialog (Radix: focus trapped inside, Esc closes)."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.box(
                rx.cond(
                    ImageViewState.view_missing,
                    _missing(),
                    rx.cond(
                        V.contains("id"),
                        rx.flex(
                            _picture(),
                            _details(),
                            direction=rx.breakpoints(initial="column", md="row"),
                            spacing="4",
                            width="100%",
                        ),
                        rx.center(
                            rx.dialog.title(
                                "Loading image", style=styles.sr_only, custom_attrs={"as": "h2"}
                            ),
                            rx.spinner(size="3"),
                            min_height="50dvh",
                        ),
                    ),
                ),
                _delete_confirm(),
                # After a delete the next image shows: Undo is here (the gallery's is inert
                # behind the dialog).
                undo_bar(),
                # ← / → while the view is open (it is the only thing focusable then).
                rx.window_event_listener(on_key_down=ImageViewState.key_nav),
                width="100%",
            ),
            width="min(96vw, 90rem)",
            max_width="none",
            max_height="calc(100dvh - 1rem)",
            padding=["0.75rem", "1rem"],
            aria_describedby=None,
            data_testid="image-view",
        ),
        open=True,
        on_open_change=ImageViewState.close_view,
    )
