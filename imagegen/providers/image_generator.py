"""Image generator port: the OpenAI images API (or any compatible endpoint) and an offline one."""

import base64
import hashlib
import io
import textwrap
import time
from dataclasses import dataclass
from typing import Protocol

import openai
from PIL import Image, ImageDraw, ImageFilter, ImageFont, UnidentifiedImageError

from imagegen.errors import ContentRejected, ImagegenError, ProviderUnavailable


@dataclass(frozen=True)
class GeneratedImage:
    """PNG bytes and their dimensions."""

    data: bytes
    width: int
    height: int
    content_type: str = "image/png"


class ImageGenerator(Protocol):
    """Turns a prompt into an image."""

    name: str

    def generate(
        self,
        *,
        prompt: str,
        size: str,
        quality: str,
        timeout: float,
        seed: str = "",
        source: bytes | None = None,
    ) -> GeneratedImage:
        """Make one image; `seed` tells the images of one batch apart (a model that draws
        each call afresh may ignore it). With `source` (a PNG), a variation of that image:
        through the model's edit or variation endpoint where it has one.

        Raises:
            ProviderUnavailable: transient (retry later).
            ContentRejected: refused on policy grounds (never retried).
            ImagegenError: any other permanent refusal.
        """
        ...


def _dimensions(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def _checked_png(data: bytes) -> GeneratedImage:
    """Make sure the bytes are an image; re-encode anything that is not PNG."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            width, height = img.size
            if img.format != "PNG":
                out = io.BytesIO()
                img.save(out, format="PNG")
                data = out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):
        raise ProviderUnavailable("The image service returned an unreadable image.") from None
    return GeneratedImage(data=data, width=width, height=height)


_POLICY_CODES = {"content_policy_violation", "moderation_blocked", "safety_violation"}


class OpenAIImageGenerator:
    """`images.generate` through the official SDK; retries are the worker's job, not the SDK's."""

    name = "openai"

    def __init__(
        self, *, api_key: str, base_url: str | None = None, model: str = "gpt-image-1-mini"
    ) -> None:
        """Build the client (no SDK retries: the worker decides)."""
        self.model = model
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url or None, max_retries=0)

    def generate(
        self,
        *,
        prompt: str,
        size: str,
        quality: str,
        timeout: float,
        seed: str = "",  # noqa: ARG002  (each call is a fresh draw already)
        source: bytes | None = None,
    ) -> GeneratedImage:
        """Ask the model for one image as base64 JSON. With `source`: gpt-image models edit
        it with the prompt (`images.edit`), dall-e-2 makes a variation of it
        (`images.create_variation`, prompt-less); other models draw afresh.
        """
        try:
            if source is not None and self.model.startswith("gpt-image"):
                # Size and quality are checked against the model's options before this call;
                # the SDK types them as Literal unions, so a plain str matches no overload.
                response = self.client.images.edit(  # type: ignore[call-overload]
                    model=self.model,
                    image=("source.png", source, "image/png"),
                    prompt=prompt,
                    size=size,
                    quality=quality,
                    n=1,
                    timeout=timeout,
                )
            elif source is not None and self.model == "dall-e-2":
                response = self.client.images.create_variation(
                    model=self.model,
                    image=("source.png", source, "image/png"),
                    size=size,  # type: ignore[arg-type]  # a plain str, see above
                    n=1,
                    response_format="b64_json",
                    timeout=timeout,
                )
            else:
                extra: dict[str, str] = {}
                if not self.model.startswith("gpt-image"):
                    extra["response_format"] = "b64_json"
                response = self.client.images.generate(  # type: ignore[call-overload]
                    model=self.model,
                    prompt=prompt,
                    size=size,
                    quality=quality,
                    n=1,
                    timeout=timeout,
                    **extra,
                )
        except openai.RateLimitError:
            raise ProviderUnavailable("The image service is rate limiting us.") from None
        except openai.APITimeoutError:
            raise ProviderUnavailable("The image service did not answer in time.") from None
        except openai.APIConnectionError:
            raise ProviderUnavailable("The image service could not be reached.") from None
        except openai.InternalServerError:
            raise ProviderUnavailable("The image service had an internal error.") from None
        except openai.APIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            error = body.get("error", body) if isinstance(body, dict) else {}
            code = error.get("code") if isinstance(error, dict) else None
            message = (error.get("message") if isinstance(error, dict) else None) or exc.message
            if code in _POLICY_CODES or "safety" in str(message).lower():
                raise ContentRejected(f"The image service refused this prompt: {message}") from None
            raise ImagegenError(f"The image service rejected the request: {message}") from None
        if not response.data or not response.data[0].b64_json:
            raise ProviderUnavailable("The image service returned no image.")
        try:
            raw = base64.b64decode(response.data[0].b64_json, validate=False)
        except ValueError:
            raise ProviderUnavailable("The image service returned an unreadable image.") from None
        return _checked_png(raw)


class OfflineImageGenerator:
    """Draws a deterministic picture from the prompt and seed with Pillow: same prompt and
    seed, same bytes; each image of a batch has its own seed, so its own picture.
    """

    name = "offline"

    def __init__(self, *, delay: float = 0.0) -> None:
        """`delay` seconds are waited before returning, so progress states can be seen."""
        self.delay = delay

    def generate(
        self,
        *,
        prompt: str,
        size: str,
        quality: str,
        timeout: float,
        seed: str = "",
        source: bytes | None = None,  # noqa: ARG002  (a variation is a new seed here)
    ) -> GeneratedImage:
        """Render the picture (a variation is drawn from its own seed, not from `source`)."""
        if self.delay:
            time.sleep(min(self.delay, timeout))
        width, height = _dimensions(size)
        digest = hashlib.sha256(f"{prompt}\x1f{quality}\x1f{seed}".encode()).digest()
        # Render small, then scale up (bilinear: the cheapest that stays smooth after the blur).
        small_w, small_h = max(64, width // 8), max(64, height // 8)
        top = tuple(digest[0:3])
        bottom = tuple(digest[3:6])
        gradient = Image.linear_gradient("L").resize((small_w, small_h))
        canvas = Image.composite(
            Image.new("RGB", (small_w, small_h), bottom),
            Image.new("RGB", (small_w, small_h), top),
            gradient,
        )
        draw = ImageDraw.Draw(canvas, "RGBA")
        for i in range(6):
            b = digest[6 + i * 4 : 10 + i * 4]
            cx, cy = b[0] * small_w // 255, b[1] * small_h // 255
            radius = 6 + b[2] * min(small_w, small_h) // 512
            colour = (*digest[(i * 3) % 29 : (i * 3) % 29 + 3], 110)
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
        canvas = canvas.filter(ImageFilter.GaussianBlur(2)).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        draw = ImageDraw.Draw(canvas, "RGBA")
        font = ImageFont.load_default(size=max(28, width // 28))
        lines = textwrap.wrap(" ".join(prompt.split())[:240], width=30)[:6]
        text = "\n".join(lines)
        box = draw.multiline_textbbox((0, 0), text, font=font, spacing=10)
        tw, th = box[2] - box[0], box[3] - box[1]
        x, y = (width - tw) // 2, height - th - height // 8
        pad = 24
        draw.rounded_rectangle(
            (x - pad, y - pad, x + tw + pad, y + th + pad), radius=18, fill=(0, 0, 0, 120)
        )
        draw.multiline_text(
            (x, y), text, font=font, fill=(255, 255, 255, 235), spacing=10, align="center"
        )
        out = io.BytesIO()
        canvas.save(out, format="PNG", optimize=False, compress_level=1)
        return GeneratedImage(data=out.getvalue(), width=width, height=height)
