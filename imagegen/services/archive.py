"""Zip archives written as a stream: each entry's bytes are read, written and handed on in
small chunks, so a download of 500 images (or a data export) never holds more than one chunk
of one image in memory. Entries carry data descriptors, which every unzip tool reads.
"""

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx

from imagegen.models import Image
from imagegen.providers.image_storage import ImageStorage, LocalImageStorage

CHUNK = 64 * 1024
Opener = Callable[[], Iterator[bytes]]


@dataclass(frozen=True)
class Entry:
    """One file of the archive: its name, when it was made, and how to read its bytes
    (`open` is called when the entry's turn comes; FileNotFoundError skips the entry).
    """

    name: str
    modified: datetime
    open: Opener
    compress: bool = False


class _Pipe(io.RawIOBase):
    """What zipfile writes into: kept until the generator hands it on. Not seekable, so
    zipfile writes each entry's sizes after its data (data descriptors).
    """

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        self.size = 0
        return out


def stream_zip(entries: Iterable[Entry]) -> Iterator[bytes]:
    """The archive's bytes, chunk by chunk (about CHUNK at a time)."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", allowZip64=True) as archive:
        for entry in entries:
            try:
                chunks = entry.open()
            except FileNotFoundError:
                continue
            info = zipfile.ZipInfo(entry.name, date_time=_zip_time(entry.modified))
            info.compress_type = zipfile.ZIP_DEFLATED if entry.compress else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with archive.open(info, mode="w", force_zip64=True) as out:
                for chunk in chunks:
                    out.write(chunk)
                    if pipe.size >= CHUNK:
                        yield pipe.take()
            if pipe.size:
                yield pipe.take()
    if pipe.size:
        yield pipe.take()


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    stamp = moment.timetuple()[:6]
    return stamp if stamp[0] >= 1980 else (1980, 1, 1, 0, 0, 0)


def _slug(prompt: str, length: int = 40) -> str:
    ascii_only = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-zA-Z0-9]+", "-", ascii_only).strip("-").lower()
    return words[:length].rstrip("-") or "image"


def image_file_name(image: Image, folder: str = "") -> str:
    """A readable, unique name: `2026-11-27_0912_a-lighthouse-at-dawn_3fa9c21b.png`."""
    return f"{folder}{image.created_at:%Y-%m-%d_%H%M}_{_slug(image.prompt)}_{image.id.hex[:8]}.png"


def stored_bytes(storage: ImageStorage, *, key: str, url: str | None) -> Opener:
    """How to read a stored image in chunks: the local file, or the CDN's URL streamed."""
    if isinstance(storage, LocalImageStorage):
        path = storage.path_for(key)

        def open_local() -> Iterator[bytes]:
            handle = path.open("rb")  # FileNotFoundError here: the entry is skipped

            def chunks() -> Iterator[bytes]:
                with handle:
                    while block := handle.read(CHUNK):
                        yield block

            return chunks()

        return open_local

    def open_remote() -> Iterator[bytes]:
        def chunks() -> Iterator[bytes]:
            with httpx.stream("GET", url or "", timeout=30, follow_redirects=True) as response:
                if response.status_code == 404:
                    return
                response.raise_for_status()
                yield from response.iter_bytes(CHUNK)

        return chunks()

    return open_remote


def image_entries(
    images: Iterable[Image], storage: ImageStorage, folder: str = ""
) -> Iterator[Entry]:
    """An entry per finished image (others have no file)."""
    for image in images:
        if image.status != "completed" or not image.storage_key:
            continue
        yield Entry(
            name=image_file_name(image, folder),
            modified=image.completed_at or image.created_at,
            open=stored_bytes(storage, key=image.storage_key, url=image.image_url),
        )
