"""Where a submit's CPU goes in the web process, stage by stage: the form's submit path
(`services.submissions.submit` as `state.gallery._submit` calls it, with the real Redis broker)
run `N` times in this process, each stage's thread CPU summed: session check, rate limit,
moderation, rows (in-progress check and inserts), debit, commit, enqueue, cards. What the
burst's web CPU per submit has beyond their sum is Reflex's own work (the event, the state
delta, the socket). `python bench/submit_stages.py [N]` merges into bench/results.json.
"""

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def measure(submits: int = 200) -> dict[str, float]:
    """Thread CPU ms per submit by stage, and the whole path."""
    from bench import live
    from imagegen import db as db_module
    from imagegen.services import (
        auth,
        credits,
        generation,
        intake,
        moderation,
        submissions,
        throttle,
    )
    from imagegen.services.jobs import DramatiqJobs
    from imagegen.state import gallery

    totals: dict[str, float] = {}

    def timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[stage] = totals.get(stage, 0.0) + time.thread_time() - start

        return run

    patches = [
        (auth, "resolve_session", "session check"),
        (throttle.RateLimit, "hit", "rate limit"),
        (moderation, "check_prompt", "moderation"),
        (generation, "_check_in_progress", "rows: in-progress check"),
        (credits, "debit", "debit (and ledger rows)"),
        (DramatiqJobs, "enqueue_generation", "enqueue (after commit)"),
        (gallery, "card", "cards"),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _stage in patches]
    for owner, name, stage in patches:
        setattr(owner, name, timed(stage, getattr(owner, name)))
    del intake, submissions, db_module
    users = live.signed_in_users(20)
    tokens = {user_id: cookie.split("=", 1)[1] for user_id, cookie in users}
    # The first calls build pools, scripts and the broker: not per-submit cost.
    for user_id, token in list(tokens.items())[:2]:
        gallery._submit(token, str(user_id), "gold_user", "warm", "1024x1024", "low", 1, "none")
    totals.clear()
    whole = []
    for n in range(submits):
        user_id, token = users[n % len(users)][0], tokens[users[n % len(users)][0]]
        start = time.thread_time()
        gallery._submit(
            token,
            str(user_id),
            "gold_user",
            f"stage {n} {uuid.uuid4().hex[:6]}",
            "1024x1024",
            "low",
            1,
            "none",
        )
        whole.append(time.thread_time() - start)
    for owner, name, fn in saved:
        setattr(owner, name, fn)
    per = {stage: round(seconds * 1000 / submits, 3) for stage, seconds in totals.items()}
    per["whole submit path"] = round(statistics.mean(whole) * 1000, 3)
    per["rest (inserts, commit, session, pool)"] = round(
        per["whole submit path"] - sum(v for k, v in per.items() if k != "whole submit path"), 3
    )
    return per


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench import results as bench_results
    from bench import run as bench_run  # sets the bench environment (database, Redis db)

    submits = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    bench_run.fresh_database()
    result = measure(submits)
    for stage, ms in result.items():
        print(f"{stage:<44}{ms:>10} ms")
    bench_results.merge({"submit_stages_ms": result})


if __name__ == "__main__":
    main()
