"""/images/<id>: one image large, over the gallery, with its details and actions."""

import asyncio
import uuid

import reflex as rx

from imagegen import routes
from imagegen.cards import Card, card, fields
from imagegen.db import session_scope
from imagegen.errors import ImagegenError, ImageNotFound
from imagegen.services import generation
from imagegen.state.feed import UserFeed
from imagegen.state.gallery import (
    TITLE_SIGNAL,
    GalleryState,
    ImageAction,
    _on_image,
    fill_prompt,
)

# A swipe is a horizontal move of at least this many CSS pixels, mostly sideways.
SWIPE_MIN_PX = 50


def _view(user_id: str, image_id: str) -> tuple[Card, str, str] | None:
    """The image's card and the ids of the newer and older images; None: not the user's."""
    with session_scope() as db:
        try:
            image = generation.get_image(session=db, user_id=uuid.UUID(user_id), image_id=image_id)
        except ImageNotFound:
            return None
        if image.dismissed:
            return None
        newer, older = generation.neighbours(session=db, image=image)
        return card(image), str(newer.id) if newer else "", str(older.id) if older else ""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ImageViewState(GalleryState):
    """The image shown in the view and its neighbours in the gallery."""

    # The image's card ({} until loaded).
    view: dict[str, str] = {}
    # The ids of the previous (newer) and next (older) images ("" at either end).
    view_prev: str = ""
    view_next: str = ""
    # No such image for this user (a made-up id and another user's look the same).
    view_missing: bool = False
    # The delete confirmation is open.
    view_confirm_delete: bool = False
    # Where the finger touched down on the picture ([] when no touch is under way).
    _swipe_from: list[int] = []

    @rx.var
    async def shown(self) -> dict[str, str]:
        """The viewed image as the feed has it now: a queued or generating image turns into
        its picture here as soon as the worker finishes, without a reload.
        """
        feed = await self.get_state(UserFeed)
        image_id = self.view.get("id", "")
        if image_id:
            for item in feed.items:
                if item["id"] == image_id:
                    return fields(item)
        return self.view

    def _image_id(self) -> str:
        return routes.normalize_path(self.router.url.path).rsplit("/", 1)[-1]

    @rx.event
    async def open_view(self):
        """on_load: read the image from the URL (owner only) and its neighbours."""
        if not self._user_id:
            return
        if not self._gallery_loaded:
            await self._load_gallery()  # opened directly: the gallery loads underneath
            yield rx.call_script(TITLE_SIGNAL)
        self._keep_view = True
        image_id = self._image_id()
        found = await asyncio.to_thread(_view, self._user_id, image_id)
        self.view_confirm_delete = False
        if found is None:
            self.view, self.view_prev, self.view_next, self.view_missing = {}, "", "", True
            return
        self.view, self.view_prev, self.view_next = fields(found[0]), found[1], found[2]
        self.view_missing = False
        self._return_to = image_id

    @rx.event
    def close_view(self, open_: bool = False):
        """Back to the gallery (Esc, the close button, a click outside)."""
        if open_:
            return None
        return rx.redirect(routes.HOME)

    @rx.event
    def key_nav(self, key: str):
        """← and → step through the gallery."""
        return self._step(key)

    @rx.event
    def swipe_start(self, x: int, y: int) -> None:
        """A finger touched down on the picture."""
        self._swipe_from = [int(x), int(y)] if _is_number(x) and _is_number(y) else []

    @rx.event
    def swipe_end(self, x: int, y: int):
        """The finger lifted: a swipe left is the next (older) image, right the previous."""
        start, self._swipe_from = self._swipe_from, []
        if not start or not _is_number(x) or not _is_number(y):
            return None
        dx, dy = int(x) - start[0], int(y) - start[1]
        if abs(dx) < SWIPE_MIN_PX or abs(dx) < 2 * abs(dy):
            return None  # a tap, or mostly a scroll
        return self._step("ArrowRight" if dx < 0 else "ArrowLeft")

    def _step(self, key: str):
        if self.view_confirm_delete:
            return None
        target = {"ArrowLeft": self.view_prev, "ArrowRight": self.view_next}.get(key, "")
        if not target:
            return None
        # Until that image's on_load has read its neighbours, further keys wait for nothing
        # (they would step from the image being left).
        self.view_prev = self.view_next = ""
        return rx.redirect(routes.image_path(target), replace=True)

    @rx.event
    def use_view_settings(self):
        """Fill the form with this image's prompt and options, on the home page."""
        item = self.view
        if not item:
            return None
        self.size, self.quality = item["size"], item["quality"]
        self.style = item["style"] or "none"
        self._return_to = ""
        return [
            rx.redirect(routes.HOME),
            *fill_prompt(item["prompt"]),  # the box lives in the browser
            rx.call_script("setTimeout(() => document.getElementById('prompt')?.focus(), 300)"),
        ]

    @rx.event
    async def share_view(self):
        """Give the image a public link and copy it."""
        updated, error = await self._act_on_view(generation.share_image)
        if error:
            return rx.toast.error(error)
        if updated and updated["share_url"]:
            return [
                rx.set_clipboard(updated["share_url"]),
                rx.toast.success("Public link copied", duration=2000),
            ]
        return None

    @rx.event
    async def stop_sharing_view(self):
        """End the image's public link."""
        _, error = await self._act_on_view(generation.stop_sharing)
        if error:
            return rx.toast.error(error)
        return rx.toast.info("The link no longer works", duration=2000)

    @rx.event
    async def toggle_favorite_view(self):
        """Heart (or un-heart) the viewed image."""
        image_id = self.view.get("id", "")
        error = await self._favorite([image_id], not self.view.get("favorite"))
        if error is not None:
            return error
        shared = await self.get_state(UserFeed)
        updated = next((c for c in shared.items if c["id"] == image_id), None)
        if updated is not None:
            self.view = fields(updated)
        else:
            self.view = {**self.view, "favorite": "" if self.view.get("favorite") else "1"}
        return None

    @rx.event
    def ask_delete_view(self, open_: bool = True) -> None:
        """Open or close the delete confirmation."""
        self.view_confirm_delete = open_

    @rx.event
    async def delete_view(self):
        """Delete the image, then show the next one (or the gallery)."""
        self.view_confirm_delete = False
        following = self.view_next or self.view_prev
        image_id = self.view.get("id", "")
        hide_later = await self._delete([image_id])
        if self.undo_ids != [image_id]:  # not deleted: hide_later is the error toast
            return hide_later
        self.view, self._return_to = {}, ""
        if following:
            return [rx.redirect(routes.image_path(following), replace=True), hide_later]
        return [rx.redirect(routes.HOME), hide_later]

    async def _act_on_view(self, service: ImageAction) -> tuple[Card | None, str]:
        """Run one image service on the viewed image; keep the view and the feed in step.

        Returns:
            The updated card (None when the image is gone) and an error message ("" if none).
        """
        image_id = self.view.get("id", "")
        user_id = await self._verified_user_id()
        if user_id is None or not image_id:
            return None, "Please sign in again."
        try:
            result = await asyncio.to_thread(_on_image, service, user_id, image_id)
        except ImagegenError as exc:
            return None, str(exc)
        shared = await self.get_state(UserFeed)
        if result is None:
            shared._remove(image_id)
            self.view = {}
        else:
            shared._upsert(result)
            self.view = fields(result)
        await self._refresh_credits()
        return result, ""
