"""Streaming zip: the archive opens in any unzip tool with the right files, and memory stays
flat however many images go in (500 images of 200 KB: a 100 MB archive)."""

import io
import os
import shutil
import subprocess
import tracemalloc
import uuid
import zipfile
from datetime import timedelta

import pytest

from imagegen.models import Image, utcnow
from imagegen.providers.image_storage import LocalImageStorage
from imagegen.services import archive


def stored_images(storage: LocalImageStorage, count: int, size: int) -> list[Image]:
    user_id = uuid.uuid4()
    start = utcnow() - timedelta(days=1)
    images = []
    for n in range(count):
        image = Image(
            user_id=user_id,
            prompt=f"Study #{n}: a lighthouse at dawn, ünïcode ✓",
            status="completed",
            created_at=start + timedelta(seconds=n),
        )
        image.completed_at = image.created_at
        stored = storage.put(
            key=f"{user_id}/{image.id}.png", data=os.urandom(size), content_type="image/png"
        )
        image.storage_key, image.image_url = stored.key, stored.url
        images.append(image)
    return images


def test_the_zip_holds_every_finished_image_byte_for_byte(tmp_path) -> None:
    storage = LocalImageStorage(root=tmp_path / "images")
    images = stored_images(storage, 5, 70_000)
    queued = Image(user_id=images[0].user_id, prompt="not made yet", status="queued")
    missing = stored_images(storage, 1, 10)[0]
    storage.path_for(missing.storage_key).unlink()  # its file is gone: left out, no error
    data = b"".join(archive.stream_zip(archive.image_entries([*images, queued, missing], storage)))
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        assert opened.testzip() is None
        names = opened.namelist()
        assert len(names) == len(set(names)) == 5
        for image, name in zip(images, names, strict=True):
            assert name == archive.image_file_name(image)
            assert name.endswith(
                f"_study-{images.index(image)}-a-lighthouse-at-dawn-unicode_{image.id.hex[:8]}.png"
            )
            assert opened.read(name) == storage.read(key=image.storage_key)
    if shutil.which("unzip"):  # and Info-ZIP agrees (data descriptors, stored entries)
        path = tmp_path / "out.zip"
        path.write_bytes(data)
        checked = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout


def test_memory_stays_flat_for_500_images(tmp_path) -> None:
    storage = LocalImageStorage(root=tmp_path / "images")
    images = stored_images(storage, 500, 200_000)  # 100 MB of image data
    tracemalloc.start()
    try:
        total, biggest = 0, 0
        for chunk in archive.stream_zip(archive.image_entries(images, storage)):
            total += len(chunk)
            biggest = max(biggest, len(chunk))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 100_000_000
    print(
        f"\n500 images, {total / 1e6:.1f} MB zip: peak traced memory {peak / 1e6:.2f} MB, "
        f"largest chunk {biggest / 1e3:.0f} KB"
    )
    assert peak < 3_000_000  # a few chunks, not the archive (100 MB) nor one image per entry
    assert biggest < 2 * archive.CHUNK + 4096


@pytest.mark.parametrize("year", [1970, 2026])
def test_dates_before_1980_do_not_break_the_zip(year: int) -> None:
    moment = utcnow().replace(year=year)
    entry = archive.Entry("a.txt", moment, lambda: iter([b"hello"]), compress=True)
    with zipfile.ZipFile(io.BytesIO(b"".join(archive.stream_zip([entry])))) as opened:
        assert opened.read("a.txt") == b"hello"
