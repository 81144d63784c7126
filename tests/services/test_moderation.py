"""Prompt screening: the blocklist (always) and OpenAI's moderation endpoint through the
`openai` SDK against the stand-in; a refused prompt costs nothing, at the UI's submit and at
the REST API."""

from collections.abc import Iterator

import pytest

from imagegen.db import session_scope
from imagegen.errors import ContentFlagged, ModerationUnavailable
from imagegen.providers.moderation import NoRemoteModerator, OpenAIModerator
from imagegen.services import auth, credits, moderation
from imagegen.settings import get_settings, load_settings
from tests.fixtures.images import submit_from_tab
from tests.fixtures.users import create_user
from tests.standins.openai_server import OpenAIStandIn


@pytest.fixture(scope="module")
def standin() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn() as server:
        yield server


@pytest.mark.parametrize(
    "prompt",
    ["draw CSAM", "c.s.a.m please", "ＣＳＡＭ", "Child   Sexual-Abuse", "a banned_word here"],
)
def test_blocklist_catches_spellings_and_configured_phrases(prompt: str) -> None:
    settings = load_settings(moderation_blocklist="banned word, other thing")
    with pytest.raises(ContentFlagged, match=r"not allowed here\. Nothing was charged"):
        moderation.check_prompt(prompt, moderator=NoRemoteModerator(), settings=settings)


@pytest.mark.parametrize("prompt", ["a classic lighthouse", "scampi on a plate", "a cat in a hat"])
def test_ordinary_prompts_pass_the_blocklist(prompt: str) -> None:
    moderation.check_prompt(prompt, moderator=NoRemoteModerator(), settings=get_settings())


def test_the_sdk_asks_the_endpoint_and_names_the_categories(standin: OpenAIStandIn) -> None:
    moderator = OpenAIModerator(api_key="sk-mod-test", base_url=standin.base_url)
    assert moderator.flagged_categories("a quiet lake") == []
    assert moderator.flagged_categories("something forbidden") == [
        "violence",
        "violence/graphic",
    ]
    sent = standin.moderation_requests[-1]
    assert sent["headers"]["authorization"] == "Bearer sk-mod-test"
    assert sent["json"]["model"] == "omni-moderation-latest"
    standin.moderation_down = True
    try:
        with pytest.raises(ModerationUnavailable):
            moderator.flagged_categories("a quiet lake")
    finally:
        standin.moderation_down = False


@pytest.fixture
def moderated(standin: OpenAIStandIn, monkeypatch) -> Iterator[OpenAIStandIn]:
    """The app configured with an OpenAI key pointed at the stand-in."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-mod-test")
    monkeypatch.setenv("OPENAI_BASE_URL", standin.base_url)
    get_settings.cache_clear()
    yield standin
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("engine", "redis_client")
def test_a_flagged_prompt_is_refused_before_any_debit(moderated: OpenAIStandIn) -> None:
    with session_scope() as db:
        user = create_user(db)
        token, _row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        user_id = str(user.id)
    asked = len(moderated.moderation_requests)
    with pytest.raises(
        ContentFlagged, match=r"flagged by moderation \(violence, violence / graphic\)"
    ):
        submit_from_tab(token, user_id, "a forbidden scene")
    with pytest.raises(ContentFlagged, match="not allowed here"):
        submit_from_tab(token, user_id, "csam")
    assert len(moderated.moderation_requests) == asked + 1  # the blocklist answered alone
    submitted = submit_from_tab(token, user_id, "a quiet lake")
    assert submitted is not None
    assert (
        len(submitted.images) == 1 and submitted.snapshot.balance.used == 1
    )  # only the clean prompt was charged
    with session_scope() as db:
        assert len(credits.ledger(session=db, user_id=user.id)) == 1
