"""Share links: an unguessable public page per shared image, with Open Graph tags; stopped
or deleted means 404; private by default; only the owner can share."""

import re
import uuid

import pytest
from starlette.testclient import TestClient

from imagegen.db import session_scope
from imagegen.errors import ImageNotFound, InvalidInput
from imagegen.http.app import build_api
from imagegen.models import Image, User
from imagegen.services import generation
from imagegen.settings import get_settings
from tests.fixtures.images import draw, queue_images
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]

HOSTILE = 'A fox <script>alert("x")</script> & "quotes" in the snow'


def made(prompt: str = HOSTILE, complete: bool = True) -> tuple[uuid.UUID, uuid.UUID]:
    with session_scope() as db:
        user = create_user(db)
        (image,) = queue_images(db, user, prompt=prompt, size="1536x1024")
        ids = user.id, image.id
    if complete:
        draw(ids[1])
    return ids


def share(user_id: uuid.UUID, image_id: uuid.UUID) -> str:
    with session_scope() as db:
        return generation.share_image(session=db, user_id=user_id, image_id=image_id).share_token


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_api(), base_url="http://localhost:3000")


def test_private_by_default_and_unguessable_when_shared() -> None:
    user_id, image_id = made()
    with session_scope() as db:
        assert db.get(Image, image_id).share_token is None
    token = share(user_id, image_id)
    assert len(token) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert share(user_id, image_id) == token  # sharing again keeps the link


def test_only_finished_images_and_only_by_their_owner() -> None:
    user_id, queued = made(complete=False)
    with pytest.raises(InvalidInput, match="Only finished images"), session_scope() as db:
        generation.share_image(session=db, user_id=user_id, image_id=queued)
    _owner, image_id = made()
    with pytest.raises(ImageNotFound), session_scope() as db:
        generation.share_image(session=db, user_id=user_id, image_id=image_id)


def test_the_public_page_shows_the_image_and_prompt_as_text_with_og_tags(client) -> None:
    user_id, image_id = made()
    token = share(user_id, image_id)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    app_url = get_settings().app_url
    assert f'<meta property="og:image" content="{app_url}/s/{token}/image.png">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert '<meta property="og:image:width" content="1536">' in html
    assert "<script>" not in html  # the prompt is text, never markup
    assert (
        "A fox &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in html
    )
    assert page.headers["cache-control"] == "no-cache"  # a stopped link stops at once
    picture = client.get(f"/s/{token}/image.png")  # no cookie, no key: public
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"


def test_stopped_deleted_and_unknown_links_are_404(client) -> None:
    user_id, image_id = made()
    token = share(user_id, image_id)
    with session_scope() as db:
        generation.stop_sharing(session=db, user_id=user_id, image_id=image_id)
    for path in (f"/s/{token}", f"/s/{token}/image.png", "/s/not-a-token", "/s/" + "x" * 80):
        response = client.get(path)
        assert response.status_code == 404 and "This link does not work" in response.text
    # The app's look (its mark and colours, light and dark) and a way home
    assert 'class="brand" href="/"' in response.text and 'class="cta" href="/"' in response.text
    assert "color-scheme: light dark" in response.text
    again = share(user_id, image_id)
    assert again != token and client.get(f"/s/{again}").status_code == 200
    with session_scope() as db:
        generation.delete_image(
            session=db, user_id=user_id, image_id=image_id, delete_file=lambda _k, _f: None
        )
    assert client.get(f"/s/{again}").status_code == 404


def test_a_shared_collection_serves_its_pictures_and_only_its_own(client) -> None:
    from imagegen.services import collections

    user_id, inside = made("A hut in the snow")
    with session_scope() as db:
        (outside,) = queue_images(db, db.get(User, user_id), prompt="Not in the album")
        album = collections.create_collection(session=db, user_id=user_id, name="Huts")
        collections.add_images(
            session=db, user_id=user_id, collection_id=album.id, image_ids=[inside]
        )
        token = collections.share_collection(
            session=db, user_id=user_id, collection_id=album.id
        ).share_token
        outside_id = outside.id
    page = client.get(f"/c/{token}")
    assert page.status_code == 200 and "A hut in the snow" in page.text
    assert f"/c/{token}/{inside}.png?w=512" in page.text
    full = client.get(f"/c/{token}/{inside}.png")  # no cookie: public while shared
    assert full.status_code == 200 and full.content[:4] == b"\x89PNG"
    thumb = client.get(f"/c/{token}/{inside}.png?w=512")  # 1536 wide: a 512 thumbnail
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert thumb.headers["cache-control"] == "no-cache"
    # Another image of the same owner is not reachable through the album's link
    assert client.get(f"/c/{token}/{outside_id}.png").status_code == 404
    with session_scope() as db:
        collections.stop_sharing_collection(session=db, user_id=user_id, collection_id=album.id)
    stopped = client.get(f"/c/{token}/{inside}.png")
    assert stopped.status_code == 404 and "This link does not work" in stopped.text


def test_a_shared_collections_page_shows_its_name_and_prompts_as_text(client) -> None:
    from imagegen.services import collections

    user_id, inside = made()  # the hostile prompt
    name = '<img src=x onerror="alert(1)"> & co'
    with session_scope() as db:
        album = collections.create_collection(session=db, user_id=user_id, name=name)
        collections.add_images(
            session=db, user_id=user_id, collection_id=album.id, image_ids=[inside]
        )
        token = collections.share_collection(
            session=db, user_id=user_id, collection_id=album.id
        ).share_token
    page = client.get(f"/c/{token}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    html = page.text
    assert "<script>" not in html and "<img src=x" not in html  # text, never markup
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co" in html
    assert "A fox &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    app_url = get_settings().app_url
    assert f'<meta property="og:url" content="{app_url}/c/{token}">' in html
    assert f'<meta property="og:image" content="{app_url}/c/{token}/{inside}.png">' in html
    assert f'<a class="cta" href="{app_url}/register">' in html  # the way to the app
