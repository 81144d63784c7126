"""Events per submit from a real browser (issue 18, target 2): a signed-in Chromium tab types
a 40-character prompt into the prompt box, key by key, and presses Generate; every event the
page sends on the /_event websocket is counted (engine.io pings/pongs are not events).

`python -m bench.keystrokes` runs it alone against its own app and merges it into
bench/results.json; `bench/run.py` runs it on the live-push app it already starts and keeps it
as results["typing"] (the README table's #18.2).
"""

import statistics
import tempfile
import uuid
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.support.socket_events import SentEvents
from tests.support.stack import CHROMIUM, CHROMIUM_ARGS

SUBMITS = 5
PROMPT_CHARS = 40
# Timer events that are not caused by typing or submitting (the tab's periodic refetch
# while work is in progress); counted apart.
NOT_OURS = {"refetch"}


def run(url: str, *, submits: int = SUBMITS) -> dict:
    """Type and submit `submits` prompts in one tab; events while typing and per submit."""
    from bench.live import signed_in_users

    [(_user_id, cookie)] = signed_in_users(1)
    name, value = cookie.split("=", 1)
    typing_events, submit_events, other_events = [], [], []
    names: list[list[str]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=url)
        context.add_cookies([{"name": name, "value": value, "url": url, "httpOnly": True}])
        page = context.new_page()
        sent = SentEvents(page)
        page.goto("/")
        box = page.get_by_role("textbox", name="Prompt")
        expect(box).to_be_editable(timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        for n in range(submits):
            prompt = f"keys {n} {uuid.uuid4().hex}".ljust(PROMPT_CHARS, "x")[:PROMPT_CHARS]
            box.fill("")
            mark = len(sent.names)
            box.click()
            box.press_sequentially(prompt, delay=15)
            page.wait_for_timeout(600)  # a debounced keystroke event would have gone by now
            typed = sent.since(mark)
            mark = len(sent.names)
            page.get_by_role("button", name="Generate").click()
            expect(page.get_by_role("img", name=prompt)).to_have_count(1, timeout=30_000)
            submitted = sent.since(mark)
            ours = [e for e in typed + submitted if e not in NOT_OURS]
            typing_events.append(len([e for e in typed if e not in NOT_OURS]))
            submit_events.append(len(ours))
            other_events.append(len(typed + submitted) - len(ours))
            names.append(typed + submitted)
        browser.close()
    return {
        "submits": submits,
        "prompt_chars": PROMPT_CHARS,
        "events_while_typing_median": statistics.median(typing_events),
        "events_per_submit_median": statistics.median(submit_events),
        "events_per_submit": statistics.median(submit_events),  # README table (bench/table.py)
        "timer_events_total": sum(other_events),
        "event_names": names,
    }


def table(result: dict) -> list[tuple[str, object, str]]:
    """Rows for bench/run.py's table."""
    return [
        (
            f"events sent typing {result['prompt_chars']} chars",
            result["events_while_typing_median"],
            "0",
        ),
        ("events per submit (typing + Generate)", result["events_per_submit_median"], "1"),
    ]


if __name__ == "__main__":
    from bench import live
    from bench import results as bench_results
    from bench import run as bench_run

    bench_run.fresh_database()
    log_dir = Path(tempfile.mkdtemp(prefix="imagegen-bench-logs-"))
    with live.app("push", log_dir) as app_url:
        outcome = run(app_url)
    for row_name, row_value, target in table(outcome):
        print(f"{row_name:<46}{row_value!s:>16}  {target}")
    print("events:", outcome["event_names"])
    bench_results.merge({"typing": outcome})
