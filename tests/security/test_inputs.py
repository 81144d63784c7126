"""Client-settable state: what a raw websocket can send to the gallery's handlers (any
string, any size, from an anonymous socket) is checked against the allowed values or cut to a
bound, never kept as sent."""

import pytest
import reflex as rx

from imagegen.services import generation
from imagegen.state.gallery import GalleryState

HUGE = "x" * 900_000
PROMPT_KEPT = 4 * generation.MAX_PROMPT  # past the limit (the counter explains), bounded


@pytest.fixture
def gallery(monkeypatch: pytest.MonkeyPatch) -> GalleryState:
    """A tab's gallery state, as an anonymous socket gets it."""
    root = rx.State(_reflex_internal_init=True)
    return root.get_substate(GalleryState.get_full_name().split("."))


@pytest.mark.parametrize(
    ("handler", "var", "default"),
    [
        ("set_size", "size", "1024x1024"),
        ("set_quality", "quality", "medium"),
        ("set_count", "count", "1"),
        ("set_style", "style", "none"),
    ],
)
@pytest.mark.parametrize("sent", [HUGE, "4096x4096", "ultra", "99", "-1", "</script>", ""])
def test_pickers_keep_only_their_choices(gallery, handler, var, default, sent) -> None:
    getattr(GalleryState, handler).fn(gallery, sent)
    assert getattr(gallery, var) == default


def test_pickers_still_take_their_choices(gallery) -> None:
    GalleryState.set_size.fn(gallery, "1536x1024")
    GalleryState.set_quality.fn(gallery, "high")
    GalleryState.set_count.fn(gallery, "4")
    GalleryState.set_style.fn(gallery, next(iter(generation.STYLES)))
    assert (gallery.size, gallery.quality, gallery.count) == ("1536x1024", "high", "4")
    assert gallery.style == next(iter(generation.STYLES))


def test_the_server_keeps_no_typed_prompt() -> None:
    # Typing stays in the browser: no setter to send keystrokes to, no prompt var to fill
    assert not hasattr(GalleryState, "set_prompt")
    assert "prompt" not in GalleryState.vars


async def test_a_submitted_prompt_is_cut_to_a_bound_before_it_is_checked(gallery) -> None:
    steps = GalleryState.submit.fn(gallery, {"prompt": HUGE})
    async for _ in steps:
        pass
    assert gallery.form_error == (
        f"The prompt is {PROMPT_KEPT:,} characters; the limit is {generation.MAX_PROMPT:,}."
    )


def test_use_settings_checks_each_field(gallery) -> None:
    filled = GalleryState.use_settings.fn(
        gallery, {"prompt": HUGE, "size": HUGE, "quality": HUGE, "style": HUGE}
    )
    sent = str(filled)  # what fills the box in the browser: the prompt, cut to the bound
    assert "x" * PROMPT_KEPT in sent
    assert "x" * (PROMPT_KEPT + 1) not in sent
    assert (gallery.size, gallery.quality, gallery.style) == ("1024x1024", "medium", "none")
    GalleryState.use_settings.fn(gallery, "not a card")  # type: ignore[arg-type]
    assert gallery.size == "1024x1024"


def test_the_delete_confirmation_keeps_only_an_image_id(gallery) -> None:
    GalleryState.ask_delete.fn(gallery, HUGE)
    assert gallery.pending_delete == ""
    image_id = "0b6a4f1e-3c1d-4c56-9d7c-2f1e8a6b5c4d"
    GalleryState.ask_delete.fn(gallery, image_id)
    assert gallery.pending_delete == image_id


async def test_the_search_box_is_kept_to_200_characters(gallery) -> None:
    await GalleryState.set_search.fn(gallery, HUGE)
    assert len(gallery.search) <= 200
