"""The fair queue on the real Redis: round robin across users, plan tiers, positions that match
the order images are really taken in, resuming a ticket's image, leaving the line, estimates."""

import random
import time
import uuid

import pytest

from imagegen.services import fair_queue as fq

pytestmark = pytest.mark.usefixtures("redis_client")


def ids(n: int, tag: str) -> list[str]:
    return [f"{tag}-{i:03d}-{uuid.uuid4().hex[:6]}" for i in range(n)]


def drain(client) -> list[str]:
    taken = []
    while (got := fq.take(client, message_id=uuid.uuid4().hex)) is not None:
        taken.append(got.image_id)
    return taken


def test_one_users_40_do_not_hold_back_another_user(redis_client) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    fq.push(redis_client, user_id=a, tier="free", image_ids=ids(40, "a"))
    fq.push(redis_client, user_id=b, tier="free", image_ids=["b-only"])
    order = drain(redis_client)
    assert len(order) == 41
    assert order.index("b-only") == 1  # within the first round: A's first, then B's


def test_each_users_images_keep_their_order(redis_client) -> None:
    a = str(uuid.uuid4())
    mine = ids(6, "a")
    fq.push(redis_client, user_id=a, tier="pro", image_ids=mine[:3])
    fq.push(redis_client, user_id=a, tier="pro", image_ids=mine[3:])
    assert drain(redis_client) == mine


def test_tiers_share_4_2_1_and_free_is_never_starved(redis_client) -> None:
    for tier in ("free", "pro", "gold"):
        for _ in range(3):
            fq.push(redis_client, user_id=uuid.uuid4(), tier=tier, image_ids=ids(20, tier))
    order = [image.split("-")[0] for image in drain(redis_client)]
    first_round = order[:70]
    assert (first_round.count("gold"), first_round.count("pro"), first_round.count("free")) == (
        40,
        20,
        10,
    )
    # Free gets a job in every 7, however much Gold waits.
    assert all("free" in order[i : i + 7] for i in range(0, 70, 7))


def test_an_empty_tier_gives_its_turn_to_the_highest_tier_with_work(redis_client) -> None:
    fq.push(redis_client, user_id=uuid.uuid4(), tier="free", image_ids=ids(10, "free"))
    fq.push(redis_client, user_id=uuid.uuid4(), tier="gold", image_ids=ids(10, "gold"))
    order = [image.split("-")[0] for image in drain(redis_client)]
    # No Pro work: its 2 turns in 7 go to Gold.
    assert order[:7].count("gold") == 6 and order[:7].count("free") == 1


@pytest.mark.parametrize("seed", range(6))
def test_positions_are_the_order_images_are_taken_in(redis_client, seed: int) -> None:
    rng = random.Random(seed)
    users: dict[str, list[str]] = {}
    for n in range(rng.randint(2, 9)):
        user = str(uuid.uuid4())
        tier = rng.choice(fq.TIERS)
        users[user] = ids(rng.randint(1, 12), f"{tier}{n}")
        fq.push(redis_client, user_id=user, tier=tier, image_ids=users[user])
    for _ in range(rng.randint(0, 10)):  # the round counter is somewhere mid-cycle
        got = fq.take(redis_client, message_id=uuid.uuid4().hex)
        for mine in users.values():
            if got and got.image_id in mine:
                mine.remove(got.image_id)
    expected = {
        image: place
        for user in users
        for image, place in fq.positions(redis_client, user_id=user).items()
    }
    actual = {image: n + 1 for n, image in enumerate(drain(redis_client))}
    assert expected == actual


def test_a_redelivered_ticket_resumes_its_image(redis_client) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    fq.push(redis_client, user_id=a, tier="free", image_ids=["a1", "a2"], request_id="req-7")
    fq.push(redis_client, user_id=b, tier="free", image_ids=["b1"])
    first = fq.take(redis_client, message_id="msg-1")
    assert (first.image_id, first.user_id, first.request_id, first.resumed) == (
        "a1",
        a,
        "req-7",
        False,
    )
    again = fq.take(redis_client, message_id="msg-1")  # same message id: redelivery or retry
    assert (again.image_id, again.resumed) == ("a1", True)
    assert fq.take(redis_client, message_id="msg-2").image_id == "b1"


def test_put_back_returns_the_image_to_the_front_and_forgets_the_ticket(redis_client) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    fq.push(redis_client, user_id=a, tier="free", image_ids=["a1", "a2"])
    fq.push(redis_client, user_id=b, tier="free", image_ids=["b1"])
    first = fq.take(redis_client, message_id="msg-1")
    fq.put_back(redis_client, taken=first, message_id="msg-1")
    assert fq.positions(redis_client, user_id=a)["a1"] == 1
    assert fq.take(redis_client, message_id="msg-1").image_id == "a1"  # taken afresh


def test_cancelled_images_leave_the_line_and_spare_tickets_find_nothing(redis_client) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    fq.push(redis_client, user_id=a, tier="free", image_ids=["a1", "a2"])
    fq.push(redis_client, user_id=b, tier="free", image_ids=["b1"])
    assert fq.positions(redis_client, user_id=b) == {"b1": 2}
    assert fq.remove(redis_client, user_id=a, image_id="a1")
    assert fq.remove(redis_client, user_id=a, image_id="a2")
    assert fq.waiting_users(redis_client) == [b]
    assert fq.positions(redis_client, user_id=b) == {"b1": 1}
    assert drain(redis_client) == ["b1"]
    assert fq.take(redis_client, message_id="spare") is None


def test_waiting_users_are_told_at_most_once_a_second_and_never_miss_the_last_move(
    redis_client,
) -> None:
    users = [str(uuid.uuid4()) for _ in range(3)]
    for user in users:
        fq.push(redis_client, user_id=user, tier="free", image_ids=ids(2, "x"))
    told: list[str] = []
    every = {"every_ms": 200}
    assert fq.notify_waiting(redis_client, told.append, **every) == (3, 0)
    assert sorted(told) == sorted(users)
    # The line moves again within the second: nobody is told now, everyone is owed it...
    assert fq.notify_waiting(redis_client, told.append, **every) == (0, 3)
    assert fq.notify_owed(redis_client, told.append, **every) == (0, 3)
    assert len(told) == 3
    # ...and hears once the second is up (the last move is never lost), once.
    time.sleep(0.25)
    assert fq.notify_owed(redis_client, told.append, **every) == (3, 0)
    assert sorted(told[3:]) == sorted(users)
    assert fq.notify_owed(redis_client, told.append, **every) == (0, 0)


def test_eta_from_recent_durations_running_jobs_and_the_budget(redis_client) -> None:
    for seconds in (10, 20):
        fq.job_finished(redis_client, image_id="old", seconds=seconds)
    fq.job_started(redis_client, image_id="r1")
    fq.job_started(redis_client, image_id="r2")
    pace = fq.pace(redis_client, budget=0, budget_window_seconds=60)
    assert (pace.mean_seconds, pace.concurrency) == (15, 2)
    # 3rd in line, 2 jobs at a time of 15 s: it starts in the second round → done in 30 s.
    assert fq.eta_seconds(3, pace) == 30
    # With 5 provider calls a minute, the 3rd call is 2 x 12 s away, then 15 s to make it.
    budget = fq.pace(redis_client, budget=5, budget_window_seconds=60)
    assert fq.eta_seconds(3, budget) == 39
    user = str(uuid.uuid4())
    fq.push(redis_client, user_id=user, tier="gold", image_ids=["g1", "g2", "g3"])
    assert fq.spots(redis_client, user_id=user)["g3"] == fq.Spot(3, 30)


def test_no_history_yet_uses_a_default_duration(redis_client) -> None:
    pace = fq.pace(redis_client, budget=0, budget_window_seconds=60)
    assert (pace.mean_seconds, pace.concurrency) == (fq.DEFAULT_DURATION_SECONDS, 1)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "Next in line"),
        (2, "2nd in line"),
        (3, "3rd in line"),
        (11, "11th in line"),
        (22, "22nd in line"),
    ],
)
def test_position_text(n: int, text: str) -> None:
    assert fq.position_text(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (3, "ready in about 5 s"),
        (42, "ready in about 40 s"),
        (150, "ready in about 2 min"),
        (3900, "ready in about 1 h 05 min"),
    ],
)
def test_eta_text(seconds: int, text: str) -> None:
    assert fq.eta_text(seconds) == text
