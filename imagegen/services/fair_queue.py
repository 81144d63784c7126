"""The fair queue: which image a worker generates next, each queued image's place in line, and
an estimate of when it will be ready.

Policy (README, "Generation, credits and live updates"):

- Plans form three tiers, served by weighted round robin: of every 7 jobs, 4 go to Gold, 2 to
  Pro and 1 to Free while all three have work waiting (`SCHEDULE`). A tier with nothing
  waiting gives its turn to the highest tier that has work, so no worker ever idles and Free
  is never starved (at least 1 job in 7).
- Inside a tier, users take turns: one image per user per round, in the order they joined.
  Each user's own images keep their submission order.

Redis holds it all, shared by every web and worker process: one list of image ids per user,
one ring of users per tier (a user is in it exactly while their list is not empty), and the
round counter. Dramatiq messages are only tickets ("generate the next fair image"); a ticket
pops its image at run time in one Lua script and records `message id → image id`, so a
redelivered or retried message resumes the same image. Nothing here imports Reflex.
"""

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

import redis
from redis.commands.core import Script

from imagegen.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "imagegen:fair"
TIERS = ("gold", "pro", "free")
PLAN_TIERS = {"gold_user": "gold", "pro_user": "pro", "free_user": "free"}
# One cycle of the weighted round robin (4 Gold, 2 Pro, 1 Free), spread out.
SCHEDULE = ("gold", "pro", "gold", "free", "gold", "pro", "gold")
TAKEN_TTL_SECONDS = 24 * 3600
DURATIONS_KEPT = 20
DEFAULT_DURATION_SECONDS = 15.0
RUNNING_STALE_SECONDS = 15 * 60
NOTIFY_EVERY_MS = 1000

Client: TypeAlias = redis.Redis

_PUSH = """
local prefix, user, tier, front = KEYS[1], ARGV[1], ARGV[2], ARGV[3] == '1'
local q = prefix .. ':q:' .. user
local before = redis.call('LLEN', q)
local current = redis.call('HGET', prefix .. ':tier', user)
if before == 0 or not current then
  current = tier
  redis.call('HSET', prefix .. ':tier', user, tier)
end
local n = (#ARGV - 3) / 2
for i = 1, n do
  local j = front and (n - i + 1) or i
  local image, rid = ARGV[3 + 2 * j - 1], ARGV[3 + 2 * j]
  if front then redis.call('LPUSH', q, image) else redis.call('RPUSH', q, image) end
  if rid ~= '' then redis.call('HSET', prefix .. ':rid', image, rid) end
end
local ring = prefix .. ':ring:' .. current
if front then
  redis.call('LREM', ring, 0, user)
  redis.call('LPUSH', ring, user)
elseif before == 0 then
  redis.call('LREM', ring, 0, user)
  redis.call('RPUSH', ring, user)
end
return before + n
"""

_TAKE = """
local prefix, message, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local taken = prefix .. ':taken:' .. message
local had = redis.call('GET', taken)
if had then return {had, '1'} end
local turn = tonumber(redis.call('GET', prefix .. ':turn') or '0')
local n = #ARGV - 2
local order = {ARGV[3 + (turn % n)], 'gold', 'pro', 'free'}
for _, tier in ipairs(order) do
  local ring = prefix .. ':ring:' .. tier
  while redis.call('LLEN', ring) > 0 do
    local user = redis.call('LPOP', ring)
    local q = prefix .. ':q:' .. user
    local image = redis.call('LPOP', q)
    if redis.call('LLEN', q) > 0 then
      redis.call('RPUSH', ring, user)
    else
      redis.call('HDEL', prefix .. ':tier', user)
    end
    if image then
      redis.call('INCR', prefix .. ':turn')
      local rid = redis.call('HGET', prefix .. ':rid', image) or ''
      redis.call('HDEL', prefix .. ':rid', image)
      local payload = image .. ' ' .. user .. ' ' .. tier .. ' ' .. rid
      redis.call('SET', taken, payload, 'EX', ttl)
      return {payload, '0'}
    end
  end
end
return false
"""

_REMOVE = """
local prefix, user, image = KEYS[1], ARGV[1], ARGV[2]
local q = prefix .. ':q:' .. user
local removed = redis.call('LREM', q, 0, image)
redis.call('HDEL', prefix .. ':rid', image)
if removed > 0 and redis.call('LLEN', q) == 0 then
  local tier = redis.call('HGET', prefix .. ':tier', user)
  if tier then redis.call('LREM', prefix .. ':ring:' .. tier, 0, user) end
  redis.call('HDEL', prefix .. ':tier', user)
end
return removed
"""

_SNAPSHOT = """
local prefix, user = KEYS[1], ARGV[1]
if redis.call('LLEN', prefix .. ':q:' .. user) == 0 then return {'0', '', {}} end
local out = {redis.call('GET', prefix .. ':turn') or '0',
             redis.call('HGET', prefix .. ':tier', user) or '',
             redis.call('LRANGE', prefix .. ':q:' .. user, 0, -1)}
for _, tier in ipairs({'gold', 'pro', 'free'}) do
  local users = redis.call('LRANGE', prefix .. ':ring:' .. tier, 0, -1)
  local lens = {}
  for i, u in ipairs(users) do lens[i] = redis.call('LLEN', prefix .. ':q:' .. u) end
  table.insert(out, users)
  table.insert(out, lens)
end
return out
"""


@dataclass(frozen=True)
class Taken:
    """The image a ticket runs, whose it is, its tier, and the request that queued it."""

    image_id: str
    user_id: str
    tier: str
    request_id: str | None
    resumed: bool


@dataclass(frozen=True)
class Spot:
    """A queued image's place: 1 = the next image any worker takes."""

    position: int
    eta_seconds: int


def tier_of(plan: str) -> str:
    """The queue tier of a plan (unknown plans queue as Free)."""
    return PLAN_TIERS.get(plan, "free")


_scripts: dict[tuple[int, str], Script] = {}


def _script(client: Client, source: str) -> Script:
    """The Lua script bound to this client (registered once; EVALSHA after the first call)."""
    key = (id(client), source)
    if key not in _scripts:
        _scripts[key] = client.register_script(source)
    return _scripts[key]


def push(
    client: Client,
    *,
    user_id: uuid.UUID | str,
    tier: str,
    image_ids: Iterable[str],
    request_id: str | None = None,
    front: bool = False,
) -> int:
    """Add images to the end of the user's line; the user joins the tier's ring if they had
    nothing waiting. With `front`, the images go back to the front of the line and the user
    to the front of the ring (an image taken but not started). Returns the line's length.
    """
    args: list[str] = [str(user_id), tier, "1" if front else "0"]
    for image_id in image_ids:
        args += [str(image_id), request_id or ""]
    return int(_script(client, _PUSH)(keys=[PREFIX], args=args))


def take(client: Client, *, message_id: str) -> Taken | None:
    """The image this ticket runs: the one it took before (a redelivery or retry of the same
    message), else the next one under the policy. None when nothing is waiting.
    """
    got = _script(client, _TAKE)(keys=[PREFIX], args=[message_id, TAKEN_TTL_SECONDS, *SCHEDULE])
    if not got:
        return None
    payload, resumed = _decode(got[0]), _decode(got[1])
    image, user, tier, rid = ([*payload.split(" ", 3), "", "", ""])[:4]
    return Taken(image, user, tier, rid or None, resumed == "1")


def put_back(client: Client, *, taken: Taken, message_id: str) -> None:
    """Return a taken image to the front of its user's line (it could not start yet), and
    forget that this message took it, in one transaction.
    """
    args = [taken.user_id, taken.tier or "free", "1", taken.image_id, taken.request_id or ""]
    pipe = client.pipeline(transaction=True)
    _script(client, _PUSH)(keys=[PREFIX], args=args, client=pipe)
    pipe.delete(f"{PREFIX}:taken:{message_id}")
    pipe.execute()


def remove(client: Client, *, user_id: uuid.UUID | str, image_id: uuid.UUID | str) -> bool:
    """Take a cancelled or deleted image out of the line (a ticket then finds nothing)."""
    return bool(_script(client, _REMOVE)(keys=[PREFIX], args=[str(user_id), str(image_id)]))


def waiting_users(client: Client) -> list[str]:
    """Every user with an image in line."""
    pipe = client.pipeline(transaction=False)
    for tier in TIERS:
        pipe.lrange(f"{PREFIX}:ring:{tier}", 0, -1)
    return [u.decode() for users in pipe.execute() for u in users]


_NOTIFY = """
local prefix, px = KEYS[1], ARGV[1]
local fresh = {}
for i = 2, #ARGV do
  for _, user in ipairs(redis.call('LRANGE', prefix .. ':ring:' .. ARGV[i], 0, -1)) do
    if redis.call('SET', prefix .. ':notified:' .. user, '1', 'PX', px, 'NX') then
      table.insert(fresh, user)
    else
      redis.call('SADD', prefix .. ':owed', user)
    end
  end
end
return {fresh, redis.call('SCARD', prefix .. ':owed')}
"""

_NOTIFY_OWED = """
local prefix, px = KEYS[1], ARGV[1]
local fresh = {}
for _, user in ipairs(redis.call('SMEMBERS', prefix .. ':owed')) do
  if redis.call('SET', prefix .. ':notified:' .. user, '1', 'PX', px, 'NX') then
    redis.call('SREM', prefix .. ':owed', user)
    table.insert(fresh, user)
  end
end
return {fresh, redis.call('SCARD', prefix .. ':owed')}
"""


class Told(NamedTuple):
    """Users just told that the line moved, and how many are still owed the news (told
    within the last `NOTIFY_EVERY_MS`: `notify_owed` tells them once that time is up).
    """

    told: int
    owed: int


def notify_waiting(
    client: Client, publish: Callable[[str], None], *, every_ms: int = NOTIFY_EVERY_MS
) -> Told:
    """Tell every user with images in line that their positions moved, at most once per user
    per `every_ms` (their tabs then refresh the queued cards); a user told too recently is
    owed the news instead, so the last move is never lost. One round trip: the users to tell
    are picked in Redis.
    """
    fresh, owed = _script(client, _NOTIFY)(keys=[PREFIX], args=[every_ms, *TIERS])
    for user in fresh:
        publish(_decode(user))
    return Told(len(fresh), int(owed))


def notify_owed(
    client: Client, publish: Callable[[str], None], *, every_ms: int = NOTIFY_EVERY_MS
) -> Told:
    """Tell the owed users whose `every_ms` is up (see `notify_waiting`)."""
    fresh, owed = _script(client, _NOTIFY_OWED)(keys=[PREFIX], args=[every_ms])
    for user in fresh:
        publish(_decode(user))
    return Told(len(fresh), int(owed))


# -- durations and running jobs, for the estimate ---------------------------------------


def job_started(client: Client, *, image_id: str) -> None:
    """A job got its provider slot and is running."""
    now = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.zadd(f"{PREFIX}:running", {image_id: now})
    pipe.zremrangebyscore(f"{PREFIX}:running", "-inf", now - RUNNING_STALE_SECONDS)
    pipe.execute()


def job_finished(client: Client, *, image_id: str, seconds: float | None) -> None:
    """A job ended; `seconds` (provider call + storage) joins the recent durations."""
    pipe = client.pipeline(transaction=False)
    pipe.zrem(f"{PREFIX}:running", image_id)
    if seconds is not None:
        pipe.lpush(f"{PREFIX}:durations", f"{seconds:.3f}")
        pipe.ltrim(f"{PREFIX}:durations", 0, DURATIONS_KEPT - 1)
    pipe.execute()


@dataclass(frozen=True)
class Pace:
    """How fast the line moves: mean recent job time, jobs running at once, provider budget."""

    mean_seconds: float
    concurrency: int
    budget: int = 0
    budget_window_seconds: float = 60.0


def pace(client: Client, *, budget: int, budget_window_seconds: float) -> Pace:
    """The mean of the last `DURATIONS_KEPT` job durations, and how many jobs run right now
    (while anything is queued every worker thread is busy, so that is the worker threads in
    service; at least 1).
    """
    pipe = client.pipeline(transaction=False)
    pipe.lrange(f"{PREFIX}:durations", 0, -1)
    pipe.zcount(f"{PREFIX}:running", time.time() - RUNNING_STALE_SECONDS, "+inf")
    durations, running = pipe.execute()
    values = [float(d) for d in durations]
    mean = sum(values) / len(values) if values else DEFAULT_DURATION_SECONDS
    return Pace(mean, max(1, int(running)), budget, budget_window_seconds)


def eta_seconds(position: int, pace: Pace) -> int:
    """Seconds until the image at `position` is ready: the rounds of jobs ahead of it at the
    current concurrency, each a mean job long; never sooner than the provider budget allows.
    """
    by_workers = math.ceil(position / pace.concurrency) * pace.mean_seconds
    by_budget = 0.0
    if pace.budget > 0:
        by_budget = (position - 1) * pace.budget_window_seconds / pace.budget + pace.mean_seconds
    return max(1, round(max(by_workers, by_budget)))


# -- positions ---------------------------------------------------------------------------


def _decode(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def positions(client: Client, *, user_id: uuid.UUID | str) -> dict[str, int]:
    """The 1-based place in line of each of the user's queued images, under the policy and
    the line as it is now (later arrivals of a higher tier can move it back).
    """
    raw = _script(client, _SNAPSHOT)(keys=[PREFIX], args=[str(user_id)])
    if not raw[2]:
        return {}
    turn, tier, mine = int(_decode(raw[0])), _decode(raw[1]), [_decode(i) for i in raw[2]]
    rings = {
        t: ([_decode(u) for u in raw[3 + 2 * n]], [int(x) for x in raw[4 + 2 * n]])
        for n, t in enumerate(TIERS)
    }
    if not mine or tier not in rings or str(user_id) not in rings[tier][0]:
        return {}
    users, lengths = rings[tier]
    me = users.index(str(user_id))
    # Jobs of this tier taken before my j-th image: everyone's first j images (round robin),
    # plus one more from each user ahead of me in the ring who still has a (j+1)-th.
    ahead_in_tier = [
        sum(min(length, j) for length in lengths) + sum(1 for n in lengths[:me] if n > j)
        for j in range(len(mine))
    ]
    return dict(zip(mine, _interleave(turn, rings, tier, ahead_in_tier), strict=True))


def _interleave(
    turn: int, rings: dict[str, tuple[list[str], list[int]]], tier: str, ahead: list[int]
) -> list[int]:
    """Replay the weighted round robin across tiers until the tier's job number `ahead[j] + 1`
    is taken, for every j; returns those overall positions.
    """
    left = {t: sum(lengths) for t, (_, lengths) in rings.items()}
    places: list[int] = []
    taken_in_tier, step = 0, 0
    targets = iter(ahead)
    target = next(targets)
    while True:
        scheduled = SCHEDULE[turn % len(SCHEDULE)]
        chosen = scheduled if left[scheduled] > 0 else next(t for t in TIERS if left[t] > 0)
        left[chosen] -= 1
        turn += 1
        step += 1
        if chosen == tier:
            if taken_in_tier == target:
                places.append(step)
                nxt = next(targets, None)
                if nxt is None:
                    return places
                target = nxt
            taken_in_tier += 1


def spots(
    client: Client, *, user_id: uuid.UUID | str, budget: int = 0, budget_window_seconds: float = 60
) -> dict[str, Spot]:
    """Position and ETA of each of the user's queued images."""
    places = positions(client, user_id=user_id)
    if not places:
        return {}
    speed = pace(client, budget=budget, budget_window_seconds=budget_window_seconds)
    return {image: Spot(place, eta_seconds(place, speed)) for image, place in places.items()}


_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Spot]]] = {}
CACHE_SECONDS = 0.5


def cached_spots(
    client: Client, *, user_id: uuid.UUID | str, budget: int = 0, budget_window_seconds: float = 60
) -> dict[str, Spot]:
    """`spots`, reused for half a second within this process (a page of cards asks once)."""
    key, now = str(user_id), time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    found = spots(
        client, user_id=user_id, budget=budget, budget_window_seconds=budget_window_seconds
    )
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[key] = (now, found)
    return found


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def position_text(position: int) -> str:
    """What a queued card says about its place: "Next in line", "3rd in line"."""
    return "Next in line" if position == 1 else f"{ordinal(position)} in line"


def eta_text(seconds: int) -> str:
    """What a queued card says about when it will be ready: "ready in about 40 s"."""
    if seconds < 60:
        return f"ready in about {max(5, 5 * round(seconds / 5))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"ready in about {minutes} min"
    return f"ready in about {minutes // 60} h {minutes % 60:02d} min"


def spots_for_user(
    client: Client, *, user_id: uuid.UUID | str, settings: Settings, fresh: bool = False
) -> dict[str, Spot]:
    """Position and ETA of the user's queued images under these settings' provider budget
    (`fresh`: bypass the half-second cache, for the relay after the line moved).
    """
    find = spots if fresh else cached_spots
    return find(
        client,
        user_id=user_id,
        budget=settings.provider_images_per_minute,
        budget_window_seconds=settings.provider_budget_window_seconds,
    )
