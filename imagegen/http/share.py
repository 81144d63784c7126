"""Public pages of shared images: `/s/<token>` (the image and its prompt, with Open Graph
and Twitter card tags so links unfurl) and `/s/<token>/image.png` (the picture). Rendered on
the server, so crawlers see the tags; a stopped, deleted or unknown link is a 404.
"""

from html import escape

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http import urls
from imagegen.models import Image
from imagegen.providers.compose import get_storage
from imagegen.services import generation
from imagegen.settings import get_settings

# Revalidated on every view, so a stopped link stops at once (no browser or CDN copy lives on).
PUBLIC_CACHE = {"cache-control": "no-cache"}

# The chrome both public pages share (a shared image, a shared collection): head, Open Graph
# basics, base styles, and the header with the way to the app. `{{`/`}}` are literal braces.
CHROME = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · imagegen</title>
<meta name="description" content="{description}">
<meta property="og:type" content="{og_type}">
<meta property="og:site_name" content="imagegen">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:url" content="{page_url}">
{meta}
<meta name="twitter:card" content="summary_large_image">
<meta name="robots" content="noindex">
<style>
  :root {{ color-scheme: light dark; }}
  body {{ margin: 0; font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
         background: Canvas; color: CanvasText; }}
  main {{ max-width: {width}; margin: 0 auto; padding: 1.5rem 1rem 3rem; }}
  header {{ display: flex; align-items: center; justify-content: space-between; gap: 1rem;
            margin-bottom: 1.25rem; }}
  .brand {{ font-weight: 700; font-size: 1.15rem; color: inherit; text-decoration: none; }}
  .cta {{ background: #6e56cf; color: #fff; padding: .5rem .9rem; border-radius: .6rem;
          text-decoration: none; font-weight: 600; font-size: .9rem; white-space: nowrap; }}
  .meta {{ font-size: .85rem; opacity: .65; }}
{style}
</style>
</head>
<body>
<main>
  <header>
    <a class="brand" href="{home}">imagegen</a>
    <a class="cta" href="{register}">Make your own</a>
  </header>
{body}
</main>
</body>
</html>
"""


def public_page(
    *,
    title: str,
    description: str,
    page_url: str,
    og_type: str,
    meta: str,
    width: str,
    style: str,
    body: str,
) -> str:
    """A public page in the app's look. `title`, `description` and `page_url` are escaped
    here; `meta` (more head tags), `style` and `body` are HTML the caller has escaped.
    """
    app_url = get_settings().app_url
    return CHROME.format(
        title=escape(title),
        description=escape(description),
        page_url=escape(page_url),
        og_type=og_type,
        meta=meta,
        width=width,
        style=style,
        body=body,
        home=escape(app_url + "/"),
        register=escape(app_url + routes.REGISTER),
    )


IMAGE_META = """<meta property="og:image" content="{image_url}">
<meta property="og:image:width" content="{width}">
<meta property="og:image:height" content="{height}">
<meta property="og:image:alt" content="{description}">
<meta name="twitter:title" content="{title}">
<meta name="twitter:image" content="{image_url}">"""

IMAGE_STYLE = """  img { display: block; max-width: 100%; max-height: 78vh; width: auto; height: auto;
        margin: 0 auto; border-radius: .9rem; box-shadow: 0 10px 30px rgba(0,0,0,.18); }
  figcaption { margin-top: 1rem; font-size: 1.05rem; line-height: 1.5;
               white-space: pre-wrap; overflow-wrap: anywhere; }
  figure .meta { margin-top: .4rem; }"""

IMAGE_BODY = """  <figure style="margin: 0">
    <img src="{image_url}" alt="{description}" width="{width}" height="{height}">
    <figcaption>{prompt}</figcaption>
    <div class="meta">{size} · shared {shared}</div>
  </figure>"""

NOT_FOUND_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not working · imagegen</title>
<meta name="robots" content="noindex">
<style>
  :root { color-scheme: light dark; --accent: #6e56cf; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1rem;
         box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
         background: radial-gradient(circle at 20% 0%, rgba(110, 86, 207, .16), transparent 45%),
                     Canvas;
         color: CanvasText; }
  main { width: 100%; max-width: 26rem; text-align: center; }
  .brand { display: inline-flex; align-items: center; gap: .5rem; font-weight: 700;
           font-size: 1.25rem; color: inherit; text-decoration: none; margin-bottom: 1.25rem; }
  .mark { width: 2rem; height: 2rem; border-radius: .55rem;
          background: linear-gradient(135deg, #6e56cf, #ab4aba); }
  .mark { display: inline-grid; place-items: center; }
  .card { border: 1px solid rgba(128, 128, 128, .25); border-radius: 1rem; padding: 2rem 1.5rem;
          background: Canvas; box-shadow: 0 8px 24px rgba(0, 0, 0, .08); }
  h1 { font-size: 1.5rem; margin: 0 0 .75rem; }
  p { margin: 0 0 1.5rem; line-height: 1.5; opacity: .75; }
  .cta { display: inline-block; background: var(--accent); color: #fff; padding: .65rem 1.1rem;
         border-radius: .6rem; text-decoration: none; font-weight: 600; }
</style>
</head>
<body>
<main>
  <a class="brand" href="/"><span class="mark" aria-hidden="true"><svg width="18" height="18" viewBox="0 0 24 24"
    fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
    <rect width="18" height="18" x="3" y="3" rx="2"/><circle cx="9" cy="9" r="2"/>
    <path d="m21 15-3.086-3.086a2 2 0 0 0-2.828 0L6 21"/></svg></span>imagegen</a>
  <div class="card">
    <h1>This link does not work</h1>
    <p>The image was never shared, its owner stopped sharing it, or it was deleted.</p>
    <a class="cta" href="/">Go to imagegen</a>
  </div>
</main>
</body>
</html>
"""


def _shared(token: str) -> Image | None:
    with session_scope() as db:
        image = generation.get_shared(session=db, token=token)
        if image is not None:
            db.expunge(image)
        return image


def not_found() -> HTMLResponse:
    """The page of a link that does not work (never shared, stopped, deleted, unknown)."""
    return HTMLResponse(NOT_FOUND_PAGE, status_code=404)


def public_picture(image: Image, width: int | None = None) -> Response:
    """A shared picture, as a thumbnail `width` wide when it is wider than that: the storage's
    CDN serves it when there is one, else its bytes; the 404 page when the file is gone.
    Blocking (storage reads): run it in a thread.
    """
    key = image.storage_key
    if not key:
        return not_found()
    storage = get_storage()
    direct = storage.direct_url(stored_url=image.image_url or "", width=width)
    if direct is not None:
        return RedirectResponse(direct, status_code=302, headers=PUBLIC_CACHE)
    try:
        if width and (image.width or 4096) > width:
            data = storage.thumbnail(key=key, width=width)
            return Response(data, media_type="image/webp", headers=PUBLIC_CACHE)
        return Response(storage.read(key=key), media_type="image/png", headers=PUBLIC_CACHE)
    except (FileNotFoundError, ValueError, OSError):
        return not_found()


async def shared_page(request: Request) -> Response:
    """GET /s/{token}: the public page."""
    token = request.path_params["token"]
    image = await anyio.to_thread.run_sync(_shared, token)
    if image is None:
        return not_found()
    page = urls.absolute_backend(routes.share_path(token))  # served by the backend
    one_line = " ".join(image.prompt.split())
    title = one_line if len(one_line) <= 70 else one_line[:69] + "…"
    width, _, height = image.size.partition("x")
    fields = {
        "title": escape(title),
        "description": escape(one_line[:300]),
        "image_url": escape(f"{page}/image.png"),
        "width": escape(width),
        "height": escape(height),
    }
    html = public_page(
        title=title,
        description=one_line[:300],
        page_url=page,
        og_type="article",
        meta=IMAGE_META.format(**fields),
        width="56rem",
        style=IMAGE_STYLE,
        body=IMAGE_BODY.format(
            **fields,
            prompt=escape(image.prompt),
            size=escape(image.size),
            shared=f"{image.shared_at:%b %-d, %Y}" if image.shared_at else "",
        ),
    )
    return HTMLResponse(html, headers=PUBLIC_CACHE)


async def shared_image(request: Request) -> Response:
    """GET /s/{token}/image.png: the picture of a shared image."""
    image = await anyio.to_thread.run_sync(_shared, request.path_params["token"])
    if image is None:
        return not_found()
    return await anyio.to_thread.run_sync(public_picture, image)
