"""The generate page: the prompt form (per tab) and the gallery feed (shared by a user's tabs)."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, Protocol

import reflex as rx
from reflex.experimental.client_state import ClientStateVar
from sqlmodel import Session

from imagegen import routes
from imagegen.cards import VARIATIONS, Card, card, parse_sort_key
from imagegen.db import session_scope
from imagegen.errors import ImagegenError, ImageNotFound, OutOfCredits
from imagegen.http import session as web_session
from imagegen.models import Image
from imagegen.providers.compose import get_moderator
from imagegen.redis_client import get_redis
from imagegen.services import feed, generation, library, submissions
from imagegen.services.jobs import get_jobs
from imagegen.settings import get_settings
from imagegen.state.auth import AuthState
from imagegen.state.feed import UserFeed, load_snapshot


class ImageAction(Protocol):
    """A service acting on one image of a user (cancel, share, stop sharing, dismiss)."""

    def __call__(self, *, session: Session, user_id: uuid.UUID, image_id: str) -> Image: ...


# What a tab keeps of a prompt: past the limit, so the counter and the error can say by how
# much, but bounded (any client can send any string through the socket).
PROMPT_KEPT = 4 * generation.MAX_PROMPT
COUNTS = tuple(str(n) for n in range(1, generation.MAX_COUNT + 1))
STYLE_CHOICES = ("none", *generation.STYLES)


def _image_id(value: object) -> str:
    """`value` when it is an image id (a UUID), else ""."""
    if not isinstance(value, str) or len(value) > 36:
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return ""


# The tab title while images are made: "⏳ 2 generating · imagegen", then, if they finished
# while the tab was in the background, "✓ 2 ready · imagegen" until it is looked at again.
# Reads the counts the gallery renders into #progress-signal; installed once per tab.
TITLE_SIGNAL = """(() => {
  if (window.__imagegenTitle) return;
  window.__imagegenTitle = true;
  let base = '', seen = null, ready = 0;
  const away = () => document.hidden || !document.hasFocus();
  const ours = (t) => t.startsWith('\u23f3') || t.startsWith('\u2713');
  const tick = () => {
    const el = document.getElementById('progress-signal');
    if (!ours(document.title)) base = document.title;
    if (!el) { seen = null; ready = 0; if (base && document.title !== base) document.title = base; return; }
    const working = Number(el.dataset.working) || 0, done = Number(el.dataset.done) || 0;
    if (seen === null || !away() || done < seen) { seen = done; ready = 0; }
    else { ready = done - seen; }
    const want = working > 0 ? `\u23f3 ${working} generating \u00b7 imagegen`
      : ready > 0 ? `\u2713 ${ready} ready \u00b7 imagegen` : base;
    if (want && document.title !== want) document.title = want;
  };
  setInterval(tick, 500);
  window.addEventListener('focus', tick);
  document.addEventListener('visibilitychange', tick);
})()"""

# Prompts this long are being written, not looked up: no suggestions then.
SUGGEST_UP_TO = 200
# How many of the user's recent prompts a tab holds for suggestions (loaded once, then
# filtered in the browser as the user types), and how many it offers at once.
RECENT_HELD = 50
SUGGESTIONS_SHOWN = 8

# The prompt box lives in the browser: typing sends nothing to the server. What is typed
# (the counter, the hints and the suggestions follow it), the user's recent prompts, whether
# the suggestions are open, and the server's form error the user has typed past since.
# The submit sends the prompt in the form's data; the server fills the box only on request
# ("Use these settings"), with `fill_prompt`.
PROMPT_TYPED = ClientStateVar.create("promptTyped", "")
RECENT_PROMPTS = ClientStateVar.create("recentPrompts", [])
SUGGEST_OPEN = ClientStateVar.create("suggestOpen", False)
ERROR_SEEN = ClientStateVar.create("formErrorSeen", "")


def fill_prompt(prompt: str) -> list[Any]:
    """The events that put `prompt` in the prompt box (its text, the counter, the hints)."""
    return [rx.set_value("prompt", prompt), PROMPT_TYPED.push(prompt), SUGGEST_OPEN.push(False)]


def remember_prompt(prompt: str) -> Any:
    """The event that puts a just-submitted prompt first in the tab's recent prompts."""
    held = "refs['_client_state_recentPrompts'] ?? []"
    return RECENT_PROMPTS.push(
        rx.Var(
            f"((p) => [p, ...({held}).filter((x) => x !== p)].slice(0, {RECENT_HELD}))"
            f"({json.dumps(prompt)})"
        )
    )


# How many images a search, the Favorites filter or oldest-first shows.
QUERY_LIMIT = 48
# How long the Undo bar stays after a delete (the server keeps deleted images restorable for
# UNDO_DELETE_SECONDS, at least as long).
UNDO_SHOWN_SECONDS = 8


# Scrolls a new card into view on narrow screens only (on a desktop the form stays put and
# the card shows beside it); waits a frame so the card has rendered.
REVEAL_ON_PHONES = (
    "(() => { if (!window.matchMedia('(max-width: 767px)').matches) return; let n = 0;"
    " const t = setInterval(() => { const el = document.getElementById('%s');"
    " if (el || ++n > 30) { clearInterval(t);"
    " el?.scrollIntoView({behavior: 'smooth', block: 'center'}); } }, 100); })()"
)


class GalleryState(AuthState):
    """The prompt form, search and older pages of this tab."""

    # Form fields (the prompt is not here: it lives in the browser, see PROMPT_TYPED).
    size: str = "1024x1024"
    quality: str = "medium"
    count: str = "1"
    style: str = "none"
    submitting: bool = False
    # Inline error of the form (role="alert") and the out-of-credits notice.
    form_error: str = ""
    out_of_credits: bool = False
    # This tab shows the shared feed's cards down to this sort key ("": all of them); "Load
    # more" lowers it a page at a time. New images are newer, so they always show.
    floor: str = ""
    # Older images exist below the floor.
    has_more: bool = False
    loading_more: bool = False
    # Search: the words, and their results (replace the feed while a search, the Favorites
    # filter or the oldest-first order is on).
    search: str = ""
    results: list[Card] = []
    # The filter ("all" / "favorites") and the order ("newest" / "oldest") of the gallery.
    show: str = "all"
    order: str = "newest"
    # The image whose delete confirmation is open.
    pending_delete: str = ""
    # The images of the last delete while it can be undone ([]: no Undo bar), and its words.
    undo_ids: list[str] = []
    undo_text: str = ""
    # Backend only: which delete the Undo bar stands for (a newer one replaces it).
    _undo_batch: int = 0
    # Bulk select: the mode is on; the selected images (in gallery order); the bulk delete
    # confirmation is open; the last card clicked (where a shift-click range starts).
    selecting: bool = False
    selected: list[str] = []
    confirm_bulk_delete: bool = False
    _anchor: str = ""
    # Backend only: this tab's gallery was loaded; the next home on_load keeps it as it is
    # (back from an image's view) and focuses the card of `_return_to`.
    _gallery_loaded: bool = False
    _keep_view: bool = False
    _return_to: str = ""

    @rx.var
    def cost(self) -> int:
        """Credits the next generation costs."""
        return get_settings().image_cost(self.quality) * int(self.count or 1)

    @rx.var
    def offline_generator(self) -> bool:
        """The offline generator is active (no image model configured)."""
        return not get_settings().openai_enabled

    @rx.var
    def poll_ms(self) -> int:
        """LIVE_UPDATES=poll: the refetch interval in ms (0: live push, no polling)."""
        settings = get_settings()
        return (
            round(settings.poll_interval_seconds * 1000) if settings.live_updates == "poll" else 0
        )

    @rx.var
    def reconcile_ms(self) -> int:
        """With live push, how often a tab with images in progress refetches anyway (ms)."""
        return round(get_settings().reconcile_seconds * 1000)

    @rx.var
    def searching(self) -> bool:
        """A search is active."""
        return self.search.strip() != ""

    @rx.var
    def selected_ids(self) -> str:
        """The selected ids as the zip form sends them (comma-separated)."""
        return ",".join(self.selected)

    @rx.var
    def querying(self) -> bool:
        """The gallery shows `results` (a search, Favorites or oldest first), not the feed."""
        return self.search.strip() != "" or self.show != "all" or self.order != "newest"

    # -- loading ------------------------------------------------------------

    @rx.event
    async def load(self):
        """The home page's whole on_load, run once: check the session, link this tab to the
        user's feed and fill it (cards and balance in one read); coming back from an image's
        view, keep the tab as it was (pages loaded, search) and bring that image's card back
        into view and focus.
        """
        if not await self._signed_in():
            yield rx.redirect(routes.LOGIN)
            return
        yield rx.call_script(TITLE_SIGNAL)
        if (toast := await self._flash()) is not None:
            yield toast
        if self._keep_view and self._gallery_loaded:
            self._keep_view = False
            await self._linked_feed()  # linked again: the feed key may have been rotated
            await self._refresh_credits()
            if self._return_to:
                target, self._return_to = f"card-link-{self._return_to}", ""
                yield rx.call_script(
                    f"(() => {{ const el = document.getElementById({target!r});"
                    " if (el) { el.scrollIntoView({block: 'center'}); el.focus(); } })()"
                )
            return
        await self._load_gallery()
        yield RECENT_PROMPTS.push(await asyncio.to_thread(_recent_prompts, self._user_id))

    async def _load_gallery(self) -> None:
        linked = await self._linked_feed()
        snap = await load_snapshot(self._user_id)
        if snap is not None:
            linked._apply_snapshot(snap)
            self.has_more = snap.more
            self.floor = card(snap.images[-1])["key"] if snap.more else ""
            self._gallery_loaded = True
        self.search, self.results, self.show, self.order = "", [], "all", "newest"

    @rx.event
    async def refetch(self, _tick: str = ""):
        """Reload the newest cards and credits: each tick under LIVE_UPDATES=poll (what the
        push does live), and now and then while work is in progress (lost notifications).
        """
        if not self._user_id:
            return
        # The feed first: its lock keeps the relay from applying a newer change between this
        # read and its write (the read's older card would then overwrite it).
        shared = await self.get_state(UserFeed)
        snap = await load_snapshot(self._user_id)
        if snap is not None:
            shared._apply_snapshot(snap)

    @rx.event
    async def load_more(self):
        """Show the next page below this tab's floor."""
        if not self.floor or not self._user_id:
            return
        self.loading_more = True
        yield
        floor = self.floor
        cursor = parse_sort_key(floor)
        size = generation.page_size()

        def page() -> list[Card]:
            with session_scope() as db:
                images = generation.list_images(
                    session=db,
                    user_id=uuid.UUID(self._user_id),
                    before=cursor,
                    limit=size + 1,
                )
                return [card(image) for image in images]

        shared = await self.get_state(UserFeed)  # first: see `refetch`
        cards = await asyncio.to_thread(page)
        more = len(cards) > size
        cards = cards[:size]
        shared._replace_range(cards, upper=floor, more=more)
        self.floor = cards[-1]["key"] if more else ""
        self.has_more = more
        self.loading_more = False

    @rx.event
    async def set_search(self, value: str):
        """Search prompts (full-text); an empty box shows the gallery again."""
        self.search = value[:200] if isinstance(value, str) else ""
        await self._query()

    @rx.event
    async def set_show(self, value: str | list[str]):
        """All images, or only the favorites."""
        if value in ("all", "favorites"):
            self.show = value
            await self._query()

    @rx.event
    async def set_order(self, value: str):
        """Newest or oldest first."""
        if value in ("newest", "oldest"):
            self.order = value
            await self._query()

    async def _query(self) -> None:
        """Fill `results` for the search, filter and order (nothing while the feed shows)."""
        if not self.querying or not self._user_id:
            self.results = []
            return
        user_id, words = uuid.UUID(self._user_id), self.search
        favorites, oldest = self.show == "favorites", self.order == "oldest"

        def find() -> list[Card]:
            with session_scope() as db:
                images = generation.list_images(
                    session=db,
                    user_id=user_id,
                    search=words,
                    favorites=favorites,
                    oldest_first=oldest,
                    limit=QUERY_LIMIT,
                )
                return [card(image) for image in images]

        self.results = await asyncio.to_thread(find)

    # -- the form -----------------------------------------------------------

    # The pickers' setters keep only the values the pickers offer (anything else is ignored).

    @rx.event
    def set_size(self, value: str) -> None:
        """Pick the size."""
        if value in generation.SIZES:
            self.size = value

    @rx.event
    def set_quality(self, value: str) -> None:
        """Pick the quality."""
        if value in generation.QUALITIES:
            self.quality = value

    @rx.event
    def set_count(self, value: str) -> None:
        """Pick how many images."""
        if value in COUNTS:
            self.count = value

    @rx.event
    def set_style(self, value: str) -> None:
        """Pick a style preset."""
        if value in STYLE_CHOICES:
            self.style = value

    @rx.event
    async def submit(self, form_data: dict[str, Any]):
        """Validate, debit, queue; the new cards appear at once in every tab."""
        if self.submitting:
            return
        # The form's data is the one source of the prompt (typing never reaches the server).
        sent = form_data.get("prompt") if isinstance(form_data, dict) else None
        prompt = sent[:PROMPT_KEPT] if isinstance(sent, str) else ""
        self.form_error, self.out_of_credits = "", False
        self.submitting = True
        yield
        try:
            submitted = await asyncio.to_thread(
                _submit,
                self._session_token(),
                self._user_id,
                (await self.get_state(UserFeed)).plan,
                prompt,
                self.size,
                self.quality,
                int(self.count),
                self.style,
            )
        except OutOfCredits:
            self.out_of_credits = True
            return
        except ImagegenError as exc:
            self.form_error = str(exc)
            yield ERROR_SEEN.push("")  # shown, even if the same words were typed past before
            return
        finally:
            self.submitting = False
        for event in await self._show_submitted(submitted):
            yield event
        if submitted is not None:
            yield remember_prompt(generation.validate_prompt(prompt))

    async def _show_submitted(
        self, submitted: tuple[list[Card], feed.FeedSnapshot] | None
    ) -> list[Any]:
        """Put new cards in the feed at once (every tab) and say so."""
        if submitted is None:  # signed out or revoked meanwhile
            return [rx.redirect(routes.LOGIN)]
        cards, snap = submitted
        shared = await self.get_state(UserFeed)
        for new in cards:
            shared._upsert(new, only_if_absent=True)
        shared._apply_balance(snap)
        events: list[Any] = [
            rx.toast.success(
                f"{len(cards)} image{'s' if len(cards) > 1 else ''} queued", duration=2000
            )
        ]
        if cards:  # on a phone the gallery is below the fold: bring the new card into view
            events.append(rx.call_script(REVEAL_ON_PHONES % f"card-{cards[0]['id']}"))
        return events

    @rx.event
    async def regenerate(self, item: dict[str, str], count: int = 1):
        """Remake: new images with an image's prompt and settings, each drawn afresh with its
        own seed (no source image). They cost what the form would.

        Args:
            item: the image's card.
            count: how many images.
        """
        async for event in self._resubmit(item, count, source=None):
            yield event

    @rx.event
    async def variations(self, item: dict[str, str], count: int = VARIATIONS):
        """Variations: `count` new images drawn from this one (its picture goes to the model's
        edit or variation endpoint where it has one), with its prompt and settings. They cost
        what the form would.

        Args:
            item: the image's card (one of the user's completed images).
            count: how many images.
        """
        # Only a finished picture can be drawn from; a failed one's variations start afresh.
        done = isinstance(item, dict) and item.get("status") == "completed"
        source = (item.get("id") or None) if done else None
        async for event in self._resubmit(item, count, source=source):
            yield event

    async def _resubmit(
        self, item: dict[str, str], count: int, *, source: str | None
    ) -> AsyncIterator[Any]:
        if self.submitting or not isinstance(item, dict) or not item.get("prompt"):
            return
        self.submitting = True
        yield None
        try:
            submitted = await asyncio.to_thread(
                _submit,
                self._session_token(),
                self._user_id,
                (await self.get_state(UserFeed)).plan,
                item["prompt"],
                item["size"],
                item["quality"],
                count,
                item["style"] or "none",
                source,
            )
        except OutOfCredits:
            yield rx.toast.error("Not enough credits left for this.", duration=4000)
            return
        except ImageNotFound:
            yield rx.toast.error("That image is no longer available.", duration=4000)
            return
        except ImagegenError as exc:
            yield rx.toast.error(str(exc), duration=4000)
            return
        finally:
            self.submitting = False
        for event in await self._show_submitted(submitted):
            yield event

    async def _refresh_credits(self) -> None:
        shared = await self.get_state(UserFeed)  # first: see `refetch`
        snap = await load_snapshot(self._user_id, images=False)
        if snap is not None:
            shared._apply_balance(snap)

    # -- per-image actions ------------------------------------------------------

    @rx.event
    def use_settings(self, item: dict[str, str]):
        """Fill the form with an image's prompt and options."""
        if not isinstance(item, dict):
            return None
        prompt, size, quality = item.get("prompt"), item.get("size"), item.get("quality")
        self.size = size if size in generation.SIZES else self.size
        self.quality = quality if quality in generation.QUALITIES else self.quality
        style = item.get("style") or "none"
        self.style = style if style in STYLE_CHOICES else "none"
        return [
            *fill_prompt(prompt[:PROMPT_KEPT] if isinstance(prompt, str) else ""),
            rx.scroll_to("prompt"),
        ]

    @rx.event
    def copy_prompt(self, prompt: str):
        """Copy a prompt to the clipboard."""
        return [rx.set_clipboard(prompt), rx.toast.info("Prompt copied", duration=1500)]

    @rx.event
    def ask_delete(self, image_id: str) -> None:
        """Open the delete confirmation for one image."""
        self.pending_delete = _image_id(image_id)

    @rx.event
    def close_delete(self, open_: bool = False) -> None:
        """Close the delete confirmation."""
        if not open_:
            self.pending_delete = ""

    @rx.event
    async def confirm_delete(self):
        """Delete the image; Undo brings it back for a few seconds."""
        image_id, self.pending_delete = self.pending_delete, ""
        return await self._delete([image_id])

    async def _delete(self, image_ids: list[str]) -> Any:
        """Soft-delete the user's images, take their cards away (every tab) and offer Undo.

        Returns:
            The event that hides the Undo bar later (None when nothing was deleted).
        """
        ids = [i for i in (_image_id(raw) for raw in image_ids) if i]
        user_id = await self._verified_user_id()
        if user_id is None or not ids:
            return None
        try:
            await asyncio.to_thread(_delete, user_id, ids)
        except ImagegenError as exc:
            return rx.toast.error(str(exc), duration=4000)
        shared = await self.get_state(UserFeed)
        gone = set(ids)
        shared.items = [c for c in shared.items if c["id"] not in gone]
        self.results = [c for c in self.results if c["id"] not in gone]
        await self._refresh_credits()  # a queued image deleted is refunded
        self.undo_ids = ids
        self.undo_text = "Image deleted" if len(ids) == 1 else f"{len(ids)} images deleted"
        self._undo_batch += 1
        return GalleryState.hide_undo(self._undo_batch)  # type: ignore[misc]  # Reflex types an @rx.event handler read on self as EventNamespace

    @rx.event(background=True)
    async def hide_undo(self, batch: int):
        """Take the Undo bar away after a few seconds (unless a newer delete replaced it)."""
        await asyncio.sleep(UNDO_SHOWN_SECONDS)
        async with self:
            if self._undo_batch == batch:
                self.undo_ids, self.undo_text = [], ""

    @rx.event
    async def undo_delete(self):
        """Bring back the images of the last delete (every tab shows them again)."""
        ids, self.undo_ids, self.undo_text = self.undo_ids, [], ""
        user_id = await self._verified_user_id()
        if user_id is None or not ids:
            return None
        try:
            restored = await asyncio.to_thread(_restore, user_id, ids)
        except ImagegenError as exc:
            return rx.toast.error(str(exc), duration=4000)
        shared = await self.get_state(UserFeed)
        for item in restored:
            shared._upsert(item)
        await self._query()
        await self._refresh_credits()
        return rx.toast.success("Restored", duration=1500)

    # -- bulk select ------------------------------------------------------------

    async def _shown_ids(self) -> list[str]:
        """The ids of the cards this tab shows, in their order."""
        if self.querying:
            return [c["id"] for c in self.results]
        floor = self.floor
        return [c["id"] for c in (await self.get_state(UserFeed)).items if c["key"] >= floor]

    @rx.event
    def toggle_selecting(self) -> None:
        """Enter or leave Select mode (leaving clears the selection)."""
        self.selecting = not self.selecting
        self.selected, self._anchor, self.confirm_bulk_delete = [], "", False

    @rx.event
    async def select_card(self, image_id: str, shift: bool = False) -> None:
        """A click on a card in Select mode toggles it; a shift-click selects the range from
        the last card clicked.
        """
        image_id = _image_id(image_id)
        if not self.selecting or not image_id:
            return
        shown = await self._shown_ids()
        if image_id not in shown:
            return
        chosen = set(self.selected)
        if shift is True and self._anchor in shown:
            start, end = sorted((shown.index(self._anchor), shown.index(image_id)))
            chosen.update(shown[start : end + 1])
        elif image_id in chosen:
            chosen.discard(image_id)
        else:
            chosen.add(image_id)
        self._anchor = image_id
        self.selected = [i for i in shown if i in chosen]

    @rx.event
    async def select_all(self) -> None:
        """Select every card shown."""
        if self.selecting:
            self.selected = await self._shown_ids()

    @rx.event
    def clear_selection(self) -> None:
        """Select nothing (Select mode stays on)."""
        self.selected, self._anchor = [], ""

    @rx.event
    def ask_bulk_delete(self, open_: bool = True) -> None:
        """Open or close the confirmation of a bulk delete."""
        self.confirm_bulk_delete = bool(open_) and bool(self.selected)

    @rx.event
    async def bulk_delete(self):
        """Delete the selected images (Undo brings them all back)."""
        ids, self.confirm_bulk_delete = self.selected, False
        hide_later = await self._delete(ids)
        if self.undo_ids and set(self.undo_ids) == set(ids):
            self.selected, self._anchor = [], ""
        return hide_later

    @rx.event
    async def bulk_favorite(self):
        """Put a heart on every selected image."""
        error = await self._favorite(self.selected, True)
        if error is not None:
            return error
        count = len(self.selected)
        return rx.toast.success(
            f"{count} image{'s' if count != 1 else ''} added to favorites", duration=2000
        )

    @rx.event
    async def toggle_favorite(self, image_id: str, favorite: bool):
        """Put a heart on an image, or take it off (every tab shows it)."""
        return await self._favorite([image_id], favorite)

    async def _favorite(self, image_ids: list[str], favorite: bool) -> Any:
        ids = [i for i in (_image_id(raw) for raw in image_ids) if i]
        user_id = await self._verified_user_id()
        if user_id is None or not ids:
            return None
        try:
            cards = await asyncio.to_thread(_set_favorite, user_id, ids, bool(favorite))
        except ImagegenError as exc:
            return rx.toast.error(str(exc), duration=4000)
        shared = await self.get_state(UserFeed)
        changed = {c["id"]: c for c in cards}
        for item in cards:
            if any(c["id"] == item["id"] for c in shared.items):
                shared._upsert(item)
        self.results = [changed.get(c["id"], c) for c in self.results]
        return None

    @rx.event
    async def cancel_image(self, image_id: str):
        """Cancel a queued image (credits come back)."""
        await self._change_card(image_id, generation.cancel_generation)

    @rx.event
    async def share_image(self, image_id: str):
        """Give a finished image a public link, and copy it."""
        await self._change_card(image_id, generation.share_image)
        shared = next(
            (c for c in (await self.get_state(UserFeed)).items if c["id"] == image_id), None
        )
        if shared and shared["share_url"]:
            return [
                rx.set_clipboard(shared["share_url"]),
                rx.toast.success("Public link copied", duration=2000),
            ]
        return None

    @rx.event
    async def stop_sharing(self, image_id: str):
        """End the public link of an image."""
        await self._change_card(image_id, generation.stop_sharing)
        return rx.toast.info("The link no longer works", duration=2000)

    @rx.event
    def copy_link(self, url: str):
        """Copy a share link."""
        return [rx.set_clipboard(url), rx.toast.info("Link copied", duration=1500)]

    @rx.event
    async def dismiss_image(self, image_id: str):
        """Hide a failed or cancelled image."""
        await self._change_card(image_id, generation.dismiss_image)

    async def _change_card(self, image_id: str, service: ImageAction) -> None:
        """Run one image service for the signed-in user and put its card's new look in every
        tab (or take it out, once dismissed).
        """
        user_id = await self._verified_user_id()
        image_id = _image_id(image_id)
        if user_id is None or not image_id:
            return
        try:
            result = await asyncio.to_thread(_on_image, service, user_id, image_id)
        except ImagegenError as exc:
            self.form_error = str(exc)
            return
        shared = await self.get_state(UserFeed)
        if result is None:
            shared._remove(image_id)
            self.results = [c for c in self.results if c["id"] != image_id]
        else:
            shared._upsert(result)
        await self._refresh_credits()


def _recent_prompts(user_id: str) -> list[str]:
    """The user's last RECENT_HELD distinct prompts, newest first (the tab filters them)."""
    with session_scope() as db:
        return library.recent_prompts(session=db, user_id=uuid.UUID(user_id), limit=RECENT_HELD)


def _submit(
    session_token: str | None,
    user_id: str,
    plan: str | None,
    prompt: str,
    size: str,
    quality: str,
    count: int,
    style: str,
    source: str | None = None,
) -> tuple[list[Card], feed.FeedSnapshot] | None:
    """Validate the form and submit it (`services.submissions`): the new cards and balance.
    `source`: Variations, the id of the image they are drawn from.

    None when the tab's session is gone (revoked, expired, or another user's cookie).
    `user_id` "": the page's load has not finished (a fast click, or a raw socket that never
    loads it): the user behind the cookie.

    Raises:
        ImageNotFound: the source is not one of the user's completed images.
    """
    try:
        source_id = uuid.UUID(source) if source else None
    except ValueError:
        raise ImageNotFound() from None
    request = generation.validate_request(
        prompt=prompt,
        size=size,
        quality=quality,
        count=count,
        style=None if style == "none" else style,
    )
    if not user_id:
        signed_in = web_session.resolve(session_token)
        if signed_in is None:
            return None
        user_id = str(signed_in.user.id)
    submitted = submissions.submit(
        request=request,
        user_id=uuid.UUID(user_id),
        plan=plan or None,
        settings=get_settings(),
        client=get_redis(),
        moderator=get_moderator(),
        jobs=get_jobs(),
        session_token=session_token,
        source_image_id=source_id,
    )
    if submitted is None:
        return None
    return [card(image) for image in submitted.images], submitted.snapshot


def _delete(user_id: str, image_ids: list[str]) -> None:
    """Soft-delete the user's images (all or none); restorable for UNDO_DELETE_SECONDS."""
    with session_scope() as db:
        library.delete_images(session=db, user_id=uuid.UUID(user_id), image_ids=image_ids)


def _set_favorite(user_id: str, image_ids: list[str], favorite: bool) -> list[Card]:
    """Hearts on (or off) the user's images (all or none); their new cards."""
    with session_scope() as db:
        images = library.set_favorite(
            session=db, user_id=uuid.UUID(user_id), image_ids=image_ids, favorite=favorite
        )
        return [card(image) for image in images]


def _restore(user_id: str, image_ids: list[str]) -> list[Card]:
    """Undo: the restored images' cards."""
    window = timedelta(seconds=get_settings().undo_delete_seconds)
    with session_scope() as db:
        images = library.restore_images(
            session=db, user_id=uuid.UUID(user_id), image_ids=image_ids, window=window
        )
        return [card(image) for image in images]


def _on_image(service: ImageAction, user_id: str, image_id: str) -> Card | None:
    """Run `service` on one of the user's images; its new card, or None once it is hidden."""
    with session_scope() as db:
        image = service(session=db, user_id=uuid.UUID(user_id), image_id=image_id)
        return None if image.dismissed else card(image)
