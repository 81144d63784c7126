"""Collections on the generate page: the user's named folders of images, adding the selected
images to one, opening one, renaming or deleting it, taking an image out, and its public link.
"""

import asyncio
import uuid
from typing import Any

import reflex as rx

from imagegen.cards import Card, card
from imagegen.db import session_scope
from imagegen.errors import ImagegenError
from imagegen.http import urls
from imagegen.models import Collection
from imagegen.routes import collection_share_path
from imagegen.services import collections
from imagegen.state.gallery import GalleryState

# How many images an open collection shows.
COLLECTION_LIMIT = 96


def _summary(collection: Collection, count: int | None = None) -> dict[str, str]:
    token = collection.share_token
    return {
        "id": str(collection.id),
        "name": collection.name,
        "count": "" if count is None else str(count),
        "share_url": urls.absolute_backend(collection_share_path(token)) if token else "",
    }


def _list(user_id: str) -> list[dict[str, str]]:
    with session_scope() as db:
        return [
            _summary(found.collection, found.count)
            for found in collections.list_collections(session=db, user_id=uuid.UUID(user_id))
        ]


def _create(user_id: str, name: str) -> None:
    with session_scope() as db:
        collections.create_collection(session=db, user_id=uuid.UUID(user_id), name=name)


def _add(user_id: str, collection_id: str, image_ids: list[str]) -> str:
    with session_scope() as db:
        found = collections.add_images(
            session=db,
            user_id=uuid.UUID(user_id),
            collection_id=collection_id,
            image_ids=image_ids,
        )
        return found.name


def _open(user_id: str, collection_id: str) -> tuple[dict[str, str], list[Card]]:
    uid = uuid.UUID(user_id)
    with session_scope() as db:
        found = collections.get_collection(session=db, user_id=uid, collection_id=collection_id)
        images = collections.collection_images(
            session=db, user_id=uid, collection_id=collection_id, limit=COLLECTION_LIMIT
        )
        return _summary(found, len(images)), [card(image) for image in images]


def _rename(user_id: str, collection_id: str, name: str) -> None:
    with session_scope() as db:
        collections.rename_collection(
            session=db, user_id=uuid.UUID(user_id), collection_id=collection_id, name=name
        )


def _delete(user_id: str, collection_id: str) -> None:
    with session_scope() as db:
        collections.delete_collection(
            session=db, user_id=uuid.UUID(user_id), collection_id=collection_id
        )


def _remove(user_id: str, collection_id: str, image_id: str) -> None:
    with session_scope() as db:
        collections.remove_images(
            session=db,
            user_id=uuid.UUID(user_id),
            collection_id=collection_id,
            image_ids=[image_id],
        )


def _share(user_id: str, collection_id: str, share: bool) -> dict[str, str]:
    uid = uuid.UUID(user_id)
    with session_scope() as db:
        change = collections.share_collection if share else collections.stop_sharing_collection
        return _summary(change(session=db, user_id=uid, collection_id=collection_id))


class CollectionsState(GalleryState):
    """The user's collections and the one open (if any)."""

    # id, name, count, share_url of each collection, by name.
    collections: list[dict[str, str]] = []
    # The collection shown instead of the gallery ({}: none) and its images.
    open_collection: dict[str, str] = {}
    collection_items: list[Card] = []
    collection_error: str = ""
    # The open collection's rename form is showing, and what went wrong with the name.
    renaming: bool = False
    rename_error: str = ""
    # The delete confirmation for the open collection is showing.
    confirm_collection_delete: bool = False

    @rx.event
    async def load_collections(self) -> None:
        """Read the user's collections (the row above the gallery mounted)."""
        if self._user_id:
            self.collections = await asyncio.to_thread(_list, self._user_id)

    @rx.event
    async def create_collection(self, form: dict[str, Any]):
        """New collection (from its name); the selected images go in it at once."""
        name = form.get("name", "") if isinstance(form, dict) else ""
        user_id = await self._verified_user_id()
        if user_id is None or not isinstance(name, str):
            return None
        self.collection_error = ""
        try:
            await asyncio.to_thread(_create, user_id, name[:200])
        except ImagegenError as exc:
            self.collection_error = str(exc)
            return None
        self.collections = await asyncio.to_thread(_list, user_id)
        return rx.toast.success(f"Collection “{name.strip()}” created", duration=2000)

    @rx.event
    async def add_selected_to(self, collection_id: str):
        """Put the selected images in a collection."""
        user_id = await self._verified_user_id()
        if user_id is None or not self.selected:
            return None
        try:
            name = await asyncio.to_thread(_add, user_id, collection_id, list(self.selected))
        except ImagegenError as exc:
            return rx.toast.error(str(exc), duration=4000)
        count = len(self.selected)
        self.collections = await asyncio.to_thread(_list, user_id)
        return rx.toast.success(
            f"{count} image{'s' if count != 1 else ''} added to “{name}”", duration=2000
        )

    @rx.event
    async def open_collection_view(self, collection_id: str):
        """Show a collection's images instead of the gallery."""
        user_id = await self._verified_user_id()
        if user_id is None:
            return None
        try:
            self.open_collection, self.collection_items = await asyncio.to_thread(
                _open, user_id, collection_id
            )
        except ImagegenError as exc:
            return rx.toast.error(str(exc), duration=4000)
        self.selecting, self.selected = False, []
        return None

    @rx.event
    def close_collection_view(self) -> None:
        """Back to all images."""
        self.open_collection, self.collection_items = {}, []
        self.renaming, self.confirm_collection_delete = False, False

    @rx.event
    def show_rename(self, open_: bool = True) -> None:
        """Open or close the rename form of the open collection."""
        self.renaming, self.rename_error = bool(open_), ""

    @rx.event
    async def rename_open_collection(self, form: dict[str, Any]):
        """Give the open collection the name typed in the form."""
        name = form.get("name", "") if isinstance(form, dict) else ""
        user_id = await self._verified_user_id()
        collection_id = self.open_collection.get("id", "")
        if user_id is None or not collection_id or not isinstance(name, str):
            return None
        try:
            await asyncio.to_thread(_rename, user_id, collection_id, name[:200])
        except ImagegenError as exc:
            self.rename_error = str(exc)
            return None
        self.renaming, self.rename_error = False, ""
        self.collections = await asyncio.to_thread(_list, user_id)
        renamed = next((c for c in self.collections if c["id"] == collection_id), None)
        if renamed is not None:
            self.open_collection = {**self.open_collection, "name": renamed["name"]}
        return rx.toast.success(f"Renamed to “{self.open_collection['name']}”", duration=2000)

    @rx.event
    def ask_delete_collection(self, open_: bool = True) -> None:
        """Open or close the delete confirmation of the open collection."""
        self.confirm_collection_delete = bool(open_)

    @rx.event
    async def delete_open_collection(self):
        """Delete the open collection (its images stay in the gallery), back to all images."""
        self.confirm_collection_delete = False
        user_id = await self._verified_user_id()
        collection_id = self.open_collection.get("id", "")
        if user_id is None or not collection_id:
            return None
        name = self.open_collection.get("name", "")
        try:
            await asyncio.to_thread(_delete, user_id, collection_id)
        except ImagegenError as exc:
            return rx.toast.error(str(exc), duration=4000)
        self.open_collection, self.collection_items, self.renaming = {}, [], False
        self.collections = await asyncio.to_thread(_list, user_id)
        return rx.toast.info(
            f"Collection “{name}” deleted; its images are still in your gallery", duration=3000
        )

    @rx.event
    async def remove_from_open_collection(self, image_id: str):
        """Take one image out of the open collection (it stays in the gallery)."""
        user_id = await self._verified_user_id()
        collection_id = self.open_collection.get("id", "")
        if user_id is None or not collection_id or not isinstance(image_id, str):
            return None
        try:
            await asyncio.to_thread(_remove, user_id, collection_id, image_id)
        except ImagegenError as exc:
            return rx.toast.error(str(exc), duration=4000)
        self.collection_items = [c for c in self.collection_items if c["id"] != image_id]
        self.open_collection = {**self.open_collection, "count": str(len(self.collection_items))}
        self.collections = await asyncio.to_thread(_list, user_id)
        return rx.toast.info(f"Removed from “{self.open_collection['name']}”", duration=2000)

    @rx.event
    async def share_open_collection(self, share: bool):
        """Give the open collection a public link (and copy it), or end it."""
        user_id = await self._verified_user_id()
        collection_id = self.open_collection.get("id", "")
        if user_id is None or not collection_id:
            return None
        try:
            summary = await asyncio.to_thread(_share, user_id, collection_id, bool(share))
        except ImagegenError as exc:
            return rx.toast.error(str(exc), duration=4000)
        self.open_collection = {**self.open_collection, "share_url": summary["share_url"]}
        self.collections = await asyncio.to_thread(_list, user_id)
        if summary["share_url"]:
            return [
                rx.set_clipboard(summary["share_url"]),
                rx.toast.success("Public link copied", duration=2000),
            ]
        return rx.toast.info("The link no longer works", duration=2000)
