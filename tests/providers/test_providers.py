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


def _solid_png(size: str, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", tuple(int(n) for n in size.split("x")), colour).save(out, format="PNG")
    return out.getvalue()


def _corner(data: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB").getpixel((5, 5))


class TestVariationsFromTheSource:
    """Variations with a real model go through the model's edit or variation endpoint, with
    the source image as a multipart file; the offline generator draws from a new seed."""

    SOURCE = _solid_png("1024x1024", (200, 30, 40))

    def test_gpt_image_edits_the_source_with_the_prompt(
        self, openai_standin: OpenAIStandIn
    ) -> None:
        gen = OpenAIImageGenerator(
            api_key="sk-test-key", base_url=openai_standin.base_url, model="gpt-image-1"
        )
        made = gen.generate(
            prompt="the same fox, in winter",
            size="1536x1024",
            quality="low",
            timeout=10,
            source=self.SOURCE,
        )
        sent = openai_standin.requests[-1]
        assert sent["path"] == "edits"
        assert sent["headers"]["content-type"].startswith("multipart/form-data")
        assert sent["headers"]["authorization"] == "Bearer sk-test-key"
        assert sent["files"]["image"] == self.SOURCE
        assert sent["form"]["prompt"] == "the same fox, in winter"
        assert sent["form"]["model"] == "gpt-image-1"
        assert sent["form"]["quality"] == "low" and sent["form"]["size"] == "1536x1024"
        assert (made.width, made.height) == (1536, 1024) == _size(made.data)
        assert _corner(made.data) == (200, 30, 40)  # made from the source, not afresh

    def test_dall_e_2_asks_for_a_variation_without_a_prompt(
        self, openai_standin: OpenAIStandIn
    ) -> None:
        gen = OpenAIImageGenerator(
            api_key="sk-test-key", base_url=openai_standin.base_url, model="dall-e-2"
        )
        made = gen.generate(
            prompt="a fox", size="1024x1024", quality="standard", timeout=10, source=self.SOURCE
        )
        sent = openai_standin.requests[-1]
        assert sent["path"] == "variations"
        assert sent["files"]["image"] == self.SOURCE
        assert "prompt" not in sent["form"]
        assert sent["form"]["model"] == "dall-e-2" and sent["form"]["response_format"] == "b64_json"
        assert _corner(made.data) == (200, 30, 40)

    def test_a_model_without_either_endpoint_draws_afresh(
        self, openai_standin: OpenAIStandIn
    ) -> None:
        gen = OpenAIImageGenerator(
            api_key="sk-test-key", base_url=openai_standin.base_url, model="dall-e-3"
        )
        gen.generate(
            prompt="a fox", size="1024x1024", quality="standard", timeout=10, source=self.SOURCE
        )
        assert openai_standin.requests[-1]["json"]["model"] == "dall-e-3"

    def test_edit_refusals_map_like_generations(self, openai_standin: OpenAIStandIn) -> None:
        gen = OpenAIImageGenerator(
            api_key="sk-test-key", base_url=openai_standin.base_url, model="gpt-image-1"
        )
        openai_standin.script("content_policy")
        with pytest.raises(ContentRejected):
            gen.generate(
                prompt="x", size="1024x1024", quality="low", timeout=10, source=self.SOURCE
            )
        with pytest.raises(ImagegenError, match="Invalid image file"):
            gen.generate(
                prompt="x", size="1024x1024", quality="low", timeout=10, source=b"not a png"
            )

    def test_a_variation_must_be_square_for_dall_e_2(self, openai_standin: OpenAIStandIn) -> None:
        gen = OpenAIImageGenerator(
            api_key="sk-test-key", base_url=openai_standin.base_url, model="dall-e-2"
        )
        with pytest.raises(ImagegenError, match="square"):
            gen.generate(
                prompt="x",
                size="1024x1024",
                quality="standard",
                timeout=10,
                source=_solid_png("1536x1024", (1, 2, 3)),
            )

    def test_offline_variations_keep_their_seeds(self) -> None:
        gen = OfflineImageGenerator()
        plain = gen.generate(prompt="a fox", size="1024x1024", quality="low", timeout=5, seed="s1")
        varied = gen.generate(
            prompt="a fox", size="1024x1024", quality="low", timeout=5, seed="s1",
            source=self.SOURCE,
        )  # fmt: skip
        other = gen.generate(
            prompt="a fox", size="1024x1024", quality="low", timeout=5, seed="s2",
            source=self.SOURCE,
        )  # fmt: skip
        assert plain.data == varied.data != other.data


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
