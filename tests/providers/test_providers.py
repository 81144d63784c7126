"""Contract tests: each port's local implementation and its SDK implementation pointed at a
local stand-in must behave alike. The SDK requests really leave the SDK over HTTP."""

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from imagegen.errors import ContentRejected, ImagegenError, ProviderUnavailable, StorageFailed
from imagegen.providers.image_generator import (
    ImageGenerator,
    OfflineImageGenerator,
    OpenAIImageGenerator,
)
from imagegen.providers.image_storage import ImageKitStorage, ImageStorage, LocalImageStorage
from tests.standins.imagekit_server import ImageKitStandIn
from tests.standins.openai_server import OpenAIStandIn


@pytest.fixture(scope="module")
def openai_standin() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn(hang_seconds=5) as server:
        yield server


@pytest.fixture(scope="module")
def imagekit_standin() -> Iterator[ImageKitStandIn]:
    with ImageKitStandIn() as server:
        yield server


@pytest.fixture(params=["offline", "openai"])
def generator(request: pytest.FixtureRequest, openai_standin: OpenAIStandIn) -> ImageGenerator:
    if request.param == "offline":
        return OfflineImageGenerator()
    return OpenAIImageGenerator(
        api_key="sk-test-key", base_url=openai_standin.base_url, model="gpt-image-1-mini"
    )


@pytest.fixture(params=["local", "imagekit"])
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, imagekit_standin: ImageKitStandIn
) -> ImageStorage:
    if request.param == "local":
        return LocalImageStorage(root=tmp_path / "images")
    return ImageKitStorage(
        private_key=imagekit_standin.private_key,
        public_key="public_test",
        url_endpoint=imagekit_standin.url_endpoint,
        base_url=imagekit_standin.base_url,
    )


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        return img.size


class TestGeneratorContract:
    @pytest.mark.parametrize("size", ["1024x1024", "1536x1024", "1024x1536"])
    def test_returns_a_png_of_the_requested_size(
        self, generator: ImageGenerator, size: str
    ) -> None:
        image = generator.generate(
            prompt="a lighthouse at dawn", size=size, quality="low", timeout=10
        )
        width, height = (int(n) for n in size.split("x"))
        assert _size(image.data) == (width, height) == (image.width, image.height)
        assert image.content_type == "image/png"


class TestOpenAI:
    def _gen(self, standin: OpenAIStandIn) -> OpenAIImageGenerator:
        return OpenAIImageGenerator(
            api_key="sk-test-key", base_url=standin.base_url, model="gpt-image-1-mini"
        )

    def test_sends_key_model_prompt(self, openai_standin: OpenAIStandIn) -> None:
        self._gen(openai_standin).generate(
            prompt="a fox", size="1024x1024", quality="high", timeout=10
        )
        sent = openai_standin.requests[-1]
        assert sent["headers"]["authorization"] == "Bearer sk-test-key"
        assert sent["json"]["model"] == "gpt-image-1-mini"
        assert sent["json"]["prompt"] == "a fox" and sent["json"]["quality"] == "high"

    @pytest.mark.parametrize("behaviour", ["429", "500", "garbage"])
    def test_transient_failures(self, openai_standin: OpenAIStandIn, behaviour: str) -> None:
        openai_standin.script(behaviour)
        with pytest.raises(ProviderUnavailable):
            self._gen(openai_standin).generate(
                prompt="x", size="1024x1024", quality="low", timeout=10
            )

    def test_hang_times_out(self, openai_standin: OpenAIStandIn) -> None:
        openai_standin.script("hang")
        with pytest.raises(ProviderUnavailable, match="did not answer in time"):
            self._gen(openai_standin).generate(
                prompt="x", size="1024x1024", quality="low", timeout=1
            )

    def test_content_policy_is_a_rejection_with_the_provider_message(
        self, openai_standin: OpenAIStandIn
    ) -> None:
        openai_standin.script("content_policy")
        with pytest.raises(ContentRejected, match="rejected by the safety system"):
            self._gen(openai_standin).generate(
                prompt="x", size="1024x1024", quality="low", timeout=10
            )

    def test_wrong_key_is_permanent(self, openai_standin: OpenAIStandIn) -> None:
        dead = OpenAIImageGenerator(api_key="sk", base_url="http://127.0.0.1:9/v1")
        with pytest.raises(ProviderUnavailable):  # nothing listens on port 9: connection error
            dead.generate(prompt="x", size="1024x1024", quality="low", timeout=2)
        assert issubclass(ContentRejected, ImagegenError)


class TestOffline:
    def test_is_deterministic_per_prompt(self) -> None:
        gen = OfflineImageGenerator()
        a = gen.generate(prompt="a red fox", size="1024x1024", quality="low", timeout=5).data
        b = gen.generate(prompt="a red fox", size="1024x1024", quality="low", timeout=5).data
        c = gen.generate(prompt="a blue whale", size="1024x1024", quality="low", timeout=5).data
        assert a == b and a != c

    def test_each_image_of_a_batch_differs_by_its_seed(self) -> None:
        gen = OfflineImageGenerator()
        batch = [
            gen.generate(
                prompt="a red fox", size="1024x1024", quality="low", timeout=5, seed=seed
            ).data
            for seed in ("image-1", "image-2", "image-3", "image-4", "image-1")
        ]
        assert len(set(batch[:4])) == 4
        assert batch[4] == batch[0]


class TestStorageContract:
    def test_put_read_back_delete(self, storage: ImageStorage, tmp_path: Path) -> None:
        data = (
            OfflineImageGenerator()
            .generate(prompt="p", size="1024x1024", quality="low", timeout=5)
            .data
        )
        stored = storage.put(key="user1/img1.png", data=data, content_type="image/png")
        assert stored.key == "user1/img1.png"
        if isinstance(storage, LocalImageStorage):
            assert storage.read(key=stored.key) == data
            assert stored.url == "/api/images/file/user1/img1.png"
            thumb = storage.thumbnail(key=stored.key, width=256)
            with Image.open(io.BytesIO(thumb)) as img:
                assert img.size == (256, 256)
        else:
            assert httpx.get(stored.url).content == data
            assert stored.file_id
        assert "256" in storage.thumbnail_url(stored_url=stored.url, width=256)
        storage.delete(key=stored.key, file_id=stored.file_id)
        storage.delete(key=stored.key, file_id=stored.file_id)  # twice is fine
        if isinstance(storage, LocalImageStorage):
            with pytest.raises(FileNotFoundError):
                storage.read(key=stored.key)
        else:
            assert httpx.get(stored.url).status_code == 404

    @pytest.mark.parametrize(
        "key", ["../etc/passwd", "/abs.png", "a/../../b.png", "a\\b.png", "x.exe", ""]
    )
    def test_keys_cannot_escape(self, storage: ImageStorage, key: str) -> None:
        with pytest.raises(ValueError):
            storage.put(key=key, data=b"x", content_type="image/png")

    def test_imagekit_upload_failure_is_storage_failed(
        self, imagekit_standin: ImageKitStandIn
    ) -> None:
        storage = ImageKitStorage(
            private_key=imagekit_standin.private_key,
            public_key="p",
            url_endpoint=imagekit_standin.url_endpoint,
            base_url=imagekit_standin.base_url,
        )
        imagekit_standin.fail_next("500")
        with pytest.raises(StorageFailed):
            storage.put(key="u/x.png", data=b"\x89PNG", content_type="image/png")
        assert imagekit_standin.requests[-1]["headers"]["authorization"].startswith("Basic ")
