"""Public pages of shared collections: `/c/<token>` (a grid of the collection's finished
images with their prompts, with Open Graph tags) and `/c/<token>/<image id>.png` (a picture,
`?w=512` for a thumbnail). Rendered on the server; a stopped link or a deleted collection is
a 404 at once, and only images that are in the collection can be reached through it.
"""

from html import escape

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http import urls
from imagegen.http.share import PUBLIC_CACHE, not_found, public_page, public_picture
from imagegen.models import Collection, Image
from imagegen.services import collections

THUMB = 512

STYLE = """  h1 { font-size: 1.6rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
  main > .meta { font-size: .9rem; margin-bottom: 1.25rem; }
  ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 1rem;
       grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); }
  li { margin: 0; }
  a.pic { display: block; }
  img { display: block; width: 100%; height: auto; aspect-ratio: 1 / 1; object-fit: cover;
        border-radius: .75rem; background: rgba(127,127,127,.15); }
  p { margin: .5rem 0 0; font-size: .9rem; line-height: 1.4; overflow-wrap: anywhere;
      display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical;
      overflow: hidden; }
  .empty { opacity: .7; }"""

BODY = """  <h1>{name}</h1>
  <div class="meta">{count} · shared {shared}</div>
  {grid}"""

ITEM = """<li><a class="pic" href="{full}"><img src="{thumb}" alt="{alt}" loading="lazy"
width="{width}" height="{height}"></a><p>{prompt}</p></li>"""


def _image_path(token: str, image: Image) -> str:
    return f"{routes.collection_share_path(token)}/{image.id}.png"


def _shared(token: str) -> tuple[Collection, list[Image]] | None:
    with session_scope() as db:
        found = collections.get_shared_collection(session=db, token=token)
        if found is not None:
            db.expunge(found[0])
            for image in found[1]:
                db.expunge(image)
        return found


async def collection_page(request: Request) -> Response:
    """GET /c/{token}: the public page of a shared collection."""
    token = request.path_params["token"]
    found = await anyio.to_thread.run_sync(_shared, token)
    if found is None:
        return not_found()
    collection, images = found
    items = []
    for image in images:
        width, _, height = image.size.partition("x")
        one_line = " ".join(image.prompt.split())
        items.append(
            ITEM.format(
                full=escape(_image_path(token, image)),
                thumb=escape(f"{_image_path(token, image)}?w={THUMB}"),
                alt=escape(one_line[:300]),
                prompt=escape(one_line),
                width=escape(width),
                height=escape(height),
            )
        )
    count = f"{len(images)} image{'s' if len(images) != 1 else ''}"
    og_image = (
        f'<meta property="og:image" content="{escape(urls.absolute_backend(_image_path(token, images[0])))}">'
        if images
        else ""
    )
    html = public_page(
        title=collection.name,
        description=f"{collection.name}: {count} made with imagegen",
        page_url=urls.absolute_backend(routes.collection_share_path(token)),
        og_type="website",
        meta=og_image,
        width="72rem",
        style=STYLE,
        body=BODY.format(
            name=escape(collection.name),
            count=count,
            shared=f"{collection.shared_at:%b %-d, %Y}" if collection.shared_at else "",
            grid=f"<ul>{''.join(items)}</ul>"
            if items
            else '<p class="empty">No images here yet.</p>',
        ),
    )
    return HTMLResponse(html, headers=PUBLIC_CACHE)


def _member(token: str, image_id: str) -> Image | None:
    with session_scope() as db:
        image = collections.shared_collection_image(session=db, token=token, image_id=image_id)
        if image is not None:
            db.expunge(image)
        return image


async def collection_image(request: Request) -> Response:
    """GET /c/{token}/{image_id}.png[?w=512]: a picture of a shared collection."""
    token, image_id = request.path_params["token"], request.path_params["image_id"]
    image = await anyio.to_thread.run_sync(_member, token, image_id)
    if image is None:
        return not_found()
    width = THUMB if request.query_params.get("w") == str(THUMB) else None
    return await anyio.to_thread.run_sync(public_picture, image, width)
