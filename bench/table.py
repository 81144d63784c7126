"""Regenerate the README's Performance table from bench/results.json (`make bench` calls it;
`python bench/table.py` alone re-renders the last results).

Every target of issue 18 has a row with its target beside it; a figure the results do not
hold (that benchmark was not run) shows as "not measured". Other figures follow. Whatever
the table does not name is listed at the end, so a new benchmark's keys show up before
anyone writes a row for them.
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
MISSING = "not measured"


def dig(results: dict, *path: str) -> Any:
    """results[a][b]…, or None when any step is missing."""
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def p50_p95(found: Any, unit: str = "ms") -> str | None:
    if not isinstance(found, dict) or "p50_ms" not in found:
        return None
    return f"{found['p50_ms']:,} / {found['p95_ms']:,} {unit}"


def _first(results: dict, *paths: tuple[str, ...]) -> Any:
    for path in paths:
        found = dig(results, *path)
        if found is not None:
            return found
    return None


# (name, how to read it from the results, target)
Row = tuple[str, Callable[[dict], str | None], str]


def _push_stages(results: dict) -> list[Row]:
    stages = dig(results, "push_stages", "stages") or {}
    return [
        (
            f"&nbsp;&nbsp;stage: {name}, p50 / p95",
            lambda r, name=name: p50_p95(dig(r, "push_stages", "stages", name)),
            "",
        )
        for name in stages
    ]


def _idle(label: str) -> Callable[[dict], str | None]:
    def read(results: dict) -> str | None:
        found = dig(results, "idle_cost", label)
        return f"{found['cpu_ms_per_tab_per_min']:,} ms CPU" if found else None

    return read


def _first_paint(profile: str) -> Callable[[dict], str | None]:
    def read(results: dict) -> str | None:
        found = dig(results, "first_paint", profile)
        if not found:
            return None
        return (
            f"usable {found['usable_ms']:,} ms (shell {found['shell_ms']:,}, "
            f"gallery {found['gallery_ms']:,})"
        )

    return read


def _ratio(results: dict) -> str | None:
    found = dig(results, "idle_cost", "fast_poll_over_push")
    return f"{found:,}×" if found is not None else None


def _storm(results: dict) -> str | None:
    found = results.get("signin_storm")
    if not found:
        return None
    return (
        f"/api/health p95 {found.get('health_p95_ms')} ms, RSS {found.get('rss_before_mb')} → "
        f"{found.get('rss_peak_mb')} MB"
    )


def _burst(web_workers: int | str) -> Callable[[dict], str | None]:
    """bench/burst.py's run with that many web processes, or through the deploy topology
    ("deploy") (a list, one entry per run)."""

    def read(results: dict) -> str | None:
        runs = results.get("burst")
        found = (
            next(
                (r for r in runs if r.get("web_workers") == web_workers),
                None,
            )
            if isinstance(runs, list)
            else None
        )
        if found is None:
            return None
        return f"{p50_p95(found)}; web CPU {found['web_cpu_ms_per_submit']} ms per submit"

    return read


def _zero_cost(results: dict) -> str | None:
    """bench/pipeline.py's zero-cost rows (medians of its runs), 1 and 2 processes."""
    runs = results.get("pipeline")
    if not isinstance(runs, list):
        return None
    zero = sorted((r for r in runs if r.get("generator") == "zero"), key=lambda r: r["processes"])
    if not zero:
        return None
    rates = " / ".join(str(r["images_per_s"]) for r in zero)
    cpu = " / ".join(str(r["worker_cpu_ms_per_image"]) for r in zero)
    return f"{rates} images/s; worker CPU {cpu} ms per image"


def _throughput(results: dict, key: str) -> str | None:
    runs = results.get(key)
    if not isinstance(runs, list) or not runs:
        return None
    return " / ".join(f"{run.get('images_per_s')}" for run in runs) + " images/s (1 / 2 procs)"


def rows(results: dict) -> list[Row]:
    """Every issue-18 target first, then the other figures."""
    big = results.get("big_gallery") or {}
    return [
        # -- issue 18 -------------------------------------------------------------
        (
            "#18.1 burst: 100 users submit at the same instant → queued card, p50 / p95",
            _burst(1),
            "p95 ≤ 250 ms",
        ),
        ("&nbsp;&nbsp;the same, 2 web processes", _burst(2), ""),
        (
            "&nbsp;&nbsp;the same, deploy topology: nginx + 2 backends (`deploy/nginx.conf`)",
            _burst("deploy"),
            "",
        ),
        (
            "#18.2 events sent per submit from a real browser",
            lambda r: _fmt(_first(r, ("events_per_submit",), ("typing", "events_per_submit"))),
            "1",
        ),
        (
            "#18.3 job done → card visible in each of 3 tabs, live push, p50 / p95 (median of 3)",
            lambda r: p50_p95(r.get("push_stages")),
            "p50 ≤ 15 ms, p95 ≤ 50 ms",
        ),
        *_push_stages(results),
        ("#18.4 idle CPU per connected tab per minute: live push", _idle("push"), ""),
        ("&nbsp;&nbsp;the same, polling every 2 s", _idle("poll 2 s"), ""),
        ("&nbsp;&nbsp;the same, polling every 0.15 s", _idle("poll 0.15 s"), ""),
        ("&nbsp;&nbsp;0.15 s polling ÷ push", _ratio, "≥ 20×"),
        (
            "#18.5 pipeline with a zero-cost generator, 1 / 2 worker processes",
            _zero_cost,
            "≥ 300 images/s with 2",
        ),
        ("#18.6 sign-in storm: 200 sign-ins at once", _storm, "p95 ≤ 100 ms, RSS +≤ 300 MB"),
        (
            "#18.7 home page usable, this machine (median of 7 loads)",
            _first_paint("this machine"),
            "≤ 250 ms",
        ),
        (
            "&nbsp;&nbsp;the same, 4× CPU throttling + 150 ms latency",
            _first_paint("slow phone"),
            "≤ 800 ms",
        ),
        (
            "&nbsp;&nbsp;backend memory per connected tab (100 tabs)",
            lambda r: _fmt(dig(r, "memory", "kb_per_tab"), " KB"),
            "≤ 200 KB",
        ),
        (
            "&nbsp;&nbsp;&nbsp;&nbsp;of which the server's own: a bare socket.io connection, no state",
            lambda r: _fmt(dig(r, "memory", "kb_per_bare_connection"), " KB"),
            "",
        ),
        (
            "&nbsp;&nbsp;&nbsp;&nbsp;a bare websocket to an echo app (`bench/transport.py`): granian, what runs here / uvicorn",
            lambda r: (
                _fmt(dig(r, "transport", "granian_kb_per_connection"))
                and f"{r['transport']['granian_kb_per_connection']} / "
                f"{r['transport']['uvicorn_kb_per_connection']} KB"
            ),
            "",
        ),
        # -- other figures ----------------------------------------------------------
        (
            "job done → visible, 2 s polling, p50 / p95",
            lambda r: p50_p95(dig(r, "done_to_visible", "poll")),
            "",
        ),
        (
            "submit → queued, 100 users 1–4 s apart, p50 / p95",
            lambda r: p50_p95(r.get("submit_to_queued_spread")),
            "p95 ≤ 250 ms",
        ),
        (
            "first gallery page of 10,000 images, p50 / p95",
            lambda _r: (
                _fmt(big.get("first_page_ms_p50"))
                and f"{big['first_page_ms_p50']} / {big['first_page_ms_p95']} ms"
            ),
            "≤ 300 ms",
        ),
        (
            "prompt search over 10,000 images, p50 / p95",
            lambda _r: (
                _fmt(big.get("search_ms_p50"))
                and f"{big['search_ms_p50']} / {big['search_ms_p95']} ms"
            ),
            "",
        ),
        ("pipeline throughput, offline generator", lambda r: _throughput(r, "throughput"), ""),
    ]


# Top-level keys the rows above read (the rest is listed as "other keys").
KNOWN = {
    "machine",
    "when",
    "load_average",
    "push_when",
    "big_gallery",
    "throughput",
    "throughput_scaling",
    "fairness",
    "done_to_visible",
    "submit_to_queued_spread",
    "submit_to_queued_burst",
    "burst",
    "memory",
    "transport",
    "signin_storm",
    "push_stages",
    "idle_cost",
    "first_paint",
    "events_per_submit",
    "typing",
    "throughput_zero_cost",
}


def _fmt(value: Any, unit: str = "") -> str | None:
    if value is None:
        return None
    return f"{value:,}{unit}" if isinstance(value, int | float) else f"{value}{unit}"


def _summary(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "…"


def render(results: dict) -> str:
    when = results.get("when", "?")
    machine = results.get("machine", "?")
    lines = [
        f"Generated by `bench/table.py` from `bench/results.json`: {when}, {machine}; everything "
        "(app, workers, PostgreSQL, Redis, Chromium) on the one machine.",
    ]
    load = results.get("load_average")
    if load:
        lines[0] += f" Load average at start / end: {load}."
    lines += ["", "| benchmark | result | target |", "|---|---|---|"]
    for name, read, target in rows(results):
        try:
            value = read(results)
        except (KeyError, TypeError, ValueError):
            value = None
        lines.append(f"| {name} | {value if value else MISSING} | {target} |")
    other = {k: v for k, v in results.items() if k not in KNOWN}
    if other:
        lines += ["", "Other keys in `bench/results.json`:", ""]
        lines += [f"- `{key}`: `{_summary(value)}`" for key, value in other.items()]
    return "\n".join(lines)


def main() -> None:
    results = json.loads(RESULTS.read_text())
    table = render(results)
    print(table)
    text = README.read_text()
    if START not in text or END not in text:
        sys.exit(f"README.md has no {START} … {END} block")
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    print("\nREADME.md Performance table regenerated")


if __name__ == "__main__":
    main()
