"""Image storage port: ImageKit through its SDK, and local files under DATA_DIR/images."""

import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import imagekitio
from PIL import Image

from imagegen.errors import StorageFailed

# The only thumbnail widths made (the gallery asks for 512); any other `?w=` is snapped to one.
THUMB_WIDTHS = (256, 512, 1024)
_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\.(png|jpg|jpeg|webp)$")


def check_key(key: str) -> str:
    """Refuse keys that could leave the storage root (`..`, absolute paths, odd characters).

    Raises:
        ValueError: the key is not of the form `folder/name.png`.
    """
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"invalid storage key: {key!r}")
    return key


@dataclass(frozen=True)
class StoredImage:
    """Where stored bytes live: our key, a URL to show, the provider's file id (if any)."""

    key: str
    url: str
    file_id: str | None = None


class ImageStorage(Protocol):
    """Keeps image bytes."""

    name: str

    def put(self, *, key: str, data: bytes, content_type: str) -> StoredImage:
        """Store bytes under a key.

        Raises:
            StorageFailed: the upload failed (transient).
        """
        ...

    def delete(self, *, key: str, file_id: str | None) -> None:
        """Remove stored bytes; a missing file is not an error."""
        ...

    def thumbnail_url(self, *, stored_url: str, width: int) -> str:
        """A URL of the image scaled to `width` pixels."""
        ...

    def read(self, *, key: str) -> bytes:
        """The stored bytes.

        Raises:
            FileNotFoundError: nothing stored under the key.
            ValueError: the key is not a storage key.
            StorageFailed: the storage did not answer (transient).
        """
        ...

    def thumbnail(self, *, key: str, width: int) -> bytes:
        """The image scaled to `width` (one of THUMB_WIDTHS), as WebP.

        Raises:
            FileNotFoundError: nothing stored under the key.
            ValueError: another width, or not a storage key.
            StorageFailed: the storage did not answer (transient).
        """
        ...

    def direct_url(
        self, *, stored_url: str, width: int | None = None, attachment: bool = False
    ) -> str | None:
        """Where the storage serves the image itself (a CDN), scaled to `width` or as an
        attachment; None when the bytes go through our own routes (`read`, `thumbnail`).
        """
        ...


class LocalImageStorage:
    """Files under a folder, served by the owner-checked `/api/images/file/...` route."""

    name = "local"

    def __init__(self, *, root: Path, url_prefix: str = "/api/images/file") -> None:
        """Keep files under `root`."""
        self.root = Path(root)
        self.url_prefix = url_prefix.rstrip("/")

    def path_for(self, key: str) -> Path:
        """The file of a key (validated)."""
        return self.root / check_key(key)

    def put(self, *, key: str, data: bytes, content_type: str) -> StoredImage:  # noqa: ARG002 (the port's signature)
        """Write atomically (temp file + rename), so readers never see half a file."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(tmp).replace(path)
        except OSError as exc:
            raise StorageFailed(f"The image could not be saved ({exc.strerror}).") from None
        return StoredImage(key=key, url=f"{self.url_prefix}/{key}")

    def read(self, *, key: str) -> bytes:
        """The stored bytes.

        Raises:
            FileNotFoundError: nothing stored under the key.
        """
        return self.path_for(key).read_bytes()

    def _thumb_path(self, key: str, width: int) -> Path:
        path = self.path_for(key)
        return path.with_name(f"{path.stem}.w{width}.webp")

    def thumbnail(self, *, key: str, width: int) -> bytes:
        """A WebP scaled to `width` (one of THUMB_WIDTHS), made once and cached next to the
        original.

        Raises:
            ValueError: another width (each would be one more file on disk).
        """
        if width not in THUMB_WIDTHS:
            raise ValueError(f"thumbnails are {THUMB_WIDTHS} pixels wide")
        thumb = self._thumb_path(key, width)
        if thumb.exists():
            return thumb.read_bytes()
        with Image.open(self.path_for(key)) as img:
            height = max(1, round(img.height * width / img.width))
            small = img.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, format="WEBP", quality=82)
        data = out.getvalue()
        tmp = thumb.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(thumb)
        return data

    def delete(self, *, key: str, file_id: str | None = None) -> None:  # noqa: ARG002
        """Remove the file and its cached thumbnails."""
        path = self.path_for(key)
        for candidate in [path, *path.parent.glob(f"{path.stem}.w*.webp")]:
            candidate.unlink(missing_ok=True)

    def thumbnail_url(self, *, stored_url: str, width: int) -> str:
        """The file route with `?w=`."""
        return f"{stored_url}?w={width}"

    def direct_url(
        self,
        *,
        stored_url: str,  # noqa: ARG002 (the port's signature)
        width: int | None = None,  # noqa: ARG002
        attachment: bool = False,  # noqa: ARG002
    ) -> str | None:
        """None: the owner-checked routes send the bytes."""
        return None


class ImageKitStorage:
    """ImageKit's upload and delete APIs through the official `imagekitio` SDK."""

    name = "imagekit"

    def __init__(
        self,
        *,
        private_key: str,
        public_key: str,
        url_endpoint: str,
        base_url: str | None = None,
        folder: str = "imagegen",
    ) -> None:
        """`base_url` points the SDK at another server (a local stand-in in tests)."""
        self.public_key = public_key
        self.url_endpoint = url_endpoint.rstrip("/")
        self.folder = folder
        self.client = imagekitio.ImageKit(
            private_key=private_key, base_url=base_url, max_retries=0, timeout=30
        )

    def put(self, *, key: str, data: bytes, content_type: str) -> StoredImage:
        """Upload under `<folder>/<key>` (the key's own folders kept)."""
        check_key(key)
        folder, _, file_name = f"{self.folder}/{key}".rpartition("/")
        try:
            result = self.client.files.upload(
                file=(file_name, data, content_type),
                file_name=file_name,
                folder=folder,
                use_unique_file_name=False,
            )
        except imagekitio.APIError as exc:
            raise StorageFailed(
                f"The image could not be uploaded ({type(exc).__name__})."
            ) from None
        if not result.url or not result.file_id:
            raise StorageFailed("The image storage answered without a URL.")
        return StoredImage(key=key, url=result.url, file_id=result.file_id)

    def delete(self, *, key: str, file_id: str | None) -> None:  # noqa: ARG002
        """Delete by file id; a file already gone is fine."""
        if not file_id:
            return
        try:
            self.client.files.delete(file_id)
        except imagekitio.NotFoundError:
            return
        except imagekitio.APIError as exc:
            raise StorageFailed(f"The image could not be deleted ({type(exc).__name__}).") from None

    def thumbnail_url(self, *, stored_url: str, width: int) -> str:
        """ImageKit resizes on the fly with the `tr=w-N` transformation."""
        joiner = "&" if "?" in stored_url else "?"
        return f"{stored_url}{joiner}tr=w-{width}"

    def url_for(self, key: str) -> str:
        """Where ImageKit serves a key (uploads keep their file names)."""
        return f"{self.url_endpoint}/{self.folder}/{check_key(key)}"

    def _fetch(self, url: str) -> bytes:
        try:
            response = httpx.get(url, timeout=30)
        except httpx.HTTPError as exc:
            raise StorageFailed(f"The image could not be read ({type(exc).__name__}).") from None
        if response.status_code == 404:
            raise FileNotFoundError(url)
        if response.is_error:
            raise StorageFailed(f"The image could not be read (HTTP {response.status_code}).")
        return response.content

    def read(self, *, key: str) -> bytes:
        """The bytes, from the CDN."""
        return self._fetch(self.url_for(key))

    def thumbnail(self, *, key: str, width: int) -> bytes:
        """ImageKit's resized copy (WebP when the original is asked for as such)."""
        if width not in THUMB_WIDTHS:
            raise ValueError(f"thumbnails are {THUMB_WIDTHS} pixels wide")
        return self._fetch(
            self.thumbnail_url(stored_url=self.url_for(key), width=width) + ",f-webp"
        )

    def direct_url(
        self, *, stored_url: str, width: int | None = None, attachment: bool = False
    ) -> str | None:
        """ImageKit serves every file itself: resized with `tr=w-N`, as an attachment with
        `ik-attachment=true`.
        """
        url = self.thumbnail_url(stored_url=stored_url, width=width) if width else stored_url
        if attachment:
            url += ("&" if "?" in url else "?") + "ik-attachment=true"
        return url
