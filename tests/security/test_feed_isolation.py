"""An attacker who learns everything a victim exposes (image URLs, share links, API answers,
ids in the victim's own pages) tries to read the victim's live feed over raw Reflex
websockets: choosing each identifier as the socket's client token, with and without the
prefixes a link token might carry, with no cookie and with the attacker's own cookie.
No frame may ever carry the victim's prompt or email, before or after the victim
generates again.
"""

import asyncio
import json
import re
import uuid
from collections.abc import Iterable

import httpx
import pytest
import socketio

from imagegen import routes
from imagegen.db import session_scope
from imagegen.services import api_keys, auth
from imagegen.state.feed import UserFeed
from imagegen.state.gallery import GalleryState
from tests.support.reflex_client import ReflexTab, run_in_thread

pytestmark = pytest.mark.e2e

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
URL_RE = re.compile(r"(?:https?://[^\s\"'<>]+|/(?:api|s)/[^\s\"'<>]+)")
# What a link token might be built from an identifier (today's and plausible ones).
PREFIXES = ("", "user-", "feed-", "user")


def _signed_in(name: str) -> tuple[uuid.UUID, str, str]:
    """A gold user with a session: (id, email, Cookie header)."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.com"
    with session_scope() as db:
        user = auth.register_user(session=db, name=name, email=email, password="pw-123456789")
        user.plan = "gold_user"
        token, _row = auth.create_session(
            session=db, user=user, ip_address="127.0.0.1", user_agent="attack-test"
        )
        return user.id, email, f"{routes.SESSION_COOKIE}={token}"


def _api_key(user_id: uuid.UUID) -> str:
    with session_scope() as db:
        secret, _row = api_keys.create_key(session=db, user_id=user_id, name="victim's script")
        return secret


def identifiers(texts: Iterable[str]) -> set[str]:
    """Every id-like string a reader of these texts learns: UUIDs, and each segment of
    every URL in them (share tokens, file names, user ids in paths)."""
    found: set[str] = set()
    for text in texts:
        found.update(match.lower() for match in UUID_RE.findall(text))
        for url in URL_RE.findall(text):
            for part in re.split(r"[/?&=#.:]", url):
                if len(part) >= 8:
                    found.add(part)
    return found


async def _submit(tab: ReflexTab, prompt: str) -> None:
    feed, form = UserFeed.get_full_name(), GalleryState.get_full_name()
    await tab.send(
        f"{form}.submit",
        form_data={
            "__reflex_form_data__": [
                ["prompt", prompt],
                ["size", "1024x1024"],
                ["quality", "low"],
                ["count", "1"],
                ["style", "none"],
            ]
        },
    )
    await tab.wait_for(
        lambda: any(
            c["prompt"] == prompt and c["status"] == "completed" for c in tab.get(feed, "items", [])
        ),
        timeout=60,
    )


async def _attack(url: str, token: str, cookie: str | None) -> ReflexTab | None:
    """A raw socket naming `token`; None when the server refuses the connection."""
    tab = ReflexTab(url, cookie, token=token)
    try:
        await tab.open("/")
    except socketio.exceptions.ConnectionError:
        await tab.discard()
        return None
    return tab


async def _scenario(url: str) -> dict[str, object]:
    victim_id, victim_email, victim_cookie = _signed_in("Victim")
    _bob_id, _bob_email, bob_cookie = _signed_in("Bob")
    first, second = (f"victim secret {word} {uuid.uuid4().hex[:8]}" for word in ("one", "two"))

    # The victim makes an image and shares it; we gather all that the victim exposes.
    victim = ReflexTab(url, victim_cookie)
    await victim.open("/")
    await _submit(victim, first)
    feed = UserFeed.get_full_name()
    image_id = next(c["id"] for c in victim.get(feed, "items") if c["prompt"] == first)
    await victim.send(f"{GalleryState.get_full_name()}.share_image", image_id=image_id)
    await victim.wait_for(
        lambda: any(c["share_url"] for c in victim.get(feed, "items", [])), timeout=20
    )
    exposed = list(victim.frames)
    key = _api_key(victim_id)
    async with httpx.AsyncClient(base_url=url, timeout=20) as client:
        listed = await client.get("/api/v1/images", headers={"Authorization": f"Bearer {key}"})
        exposed.append(listed.text)
        for item in victim.get(feed, "items", []):
            for field in ("url", "thumb", "download", "share_url"):
                if item[field]:
                    exposed.append(item[field])
                    page = await client.get(item[field], follow_redirects=False)
                    exposed.extend([page.text[:20_000], page.headers.get("location", "")])
    ids = identifiers(exposed) | {str(victim_id), victim_id.hex, victim_email}
    tokens = sorted({f"{prefix}{ident}" for ident in ids for prefix in PREFIXES})

    # The attacker connects with every one of them, with no cookie and with Bob's.
    attempts = [(token, cookie) for token in tokens for cookie in (None, bob_cookie)]
    tabs = await asyncio.gather(*(_attack(url, token, cookie) for token, cookie in attempts))
    bob_own = ReflexTab(url, bob_cookie)
    await bob_own.open("/")
    await asyncio.sleep(1)

    # The victim generates again while every attacking socket stays open.
    await _submit(victim, second)
    await asyncio.sleep(2)

    attackers = [tab for tab in tabs if tab is not None]
    leaked = [
        (tab.token, bool(tab.cookie))
        for tab in [*attackers, bob_own]
        for frame in tab.frames
        # (A socket's own token comes back in its router data: that echo is not a leak.)
        if any(secret in frame.replace(tab.token, "") for secret in (first, second, victim_email))
    ]
    victim_saw_second = any(second in frame for frame in victim.frames)
    for tab in [*attackers, bob_own, victim]:
        await tab.close()
    return {
        "attempts": len(attempts),
        "refused": sum(tab is None for tab in tabs),
        "tokens": tokens,
        "leaked": leaked,
        "victim_saw_second": victim_saw_second,
    }


def test_no_socket_reads_another_users_feed(live_server: str) -> None:
    result = run_in_thread(_scenario(live_server))
    # The scenario is real: the victim's own tab got the second image live, and the
    # attacker tried the victim's ids (the user id appears among the tokens tried).
    assert result["victim_saw_second"] is True
    assert result["attempts"] >= 20
    assert any(token.startswith("user-") for token in result["tokens"])  # type: ignore[union-attr]
    assert result["leaked"] == [], json.dumps(result["leaked"])[:2000]


@pytest.mark.parametrize(
    "token",
    ["user-3f2a", "feed-" + "ab" * 32, "not a uuid", "", "3F2A504E-4F89-11D3-9A0C-0305E82C3301x"],
)
def test_sockets_with_tokens_reflex_never_makes_are_refused(live_server: str, token: str) -> None:
    async def connect() -> ReflexTab | None:
        return await _attack(live_server, token, None)

    tab = run_in_thread(connect())
    assert tab is None


def test_sockets_with_a_uuid_token_still_connect(live_server: str) -> None:
    async def connect() -> bool:
        tab = await _attack(live_server, str(uuid.uuid4()), None)
        if tab is None:
            return False
        await tab.close()
        return True

    assert run_in_thread(connect()) is True
