"""The launcher's process list is the Procfile, and it restarts what exits, with backoff."""

import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from imagegen import cli


def test_the_launcher_runs_the_procfile_lines() -> None:
    lines = cli.read_procfile()
    assert list(lines) == ["release", "web", "worker", "watchdog"]
    assert "--frontend-port" not in lines["web"]  # `--backend-only` refuses it
    assert list(cli.process_commands({"GEN_WORKERS": "2"})) == ["web", "worker", "watchdog"]
    assert list(cli.process_commands({"GEN_WORKERS": "0"})) == ["web"]


def test_the_web_line_is_backend_only_unless_the_launcher_says_otherwise() -> None:
    web = cli.read_procfile()["web"]

    def expand(env: dict[str, str]) -> str:
        return subprocess.run(
            ["/bin/sh", "-c", f'echo "{web}"'], env=env, capture_output=True, text=True, check=True
        ).stdout

    assert "--backend-only --backend-port 8000" in expand({"PATH": os.environ["PATH"]})
    launched = expand({"PATH": os.environ["PATH"], "WEB_MODE": "--single-port", "PORT": "3000"})
    assert "--single-port --backend-port 3000" in launched


def test_a_process_that_keeps_exiting_is_restarted_with_growing_delays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="imagegen")
    flaky = cli.Supervised("flaky", "exit 3", dict(os.environ))
    flaky.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        flaky.check(time.monotonic())
        time.sleep(0.05)
    delays = [
        r.getMessage().rsplit("restarting in ", 1)[1]
        for r in caplog.records
        if "exited" in r.getMessage()
    ]
    assert delays[:3] == ["1 s", "2 s", "4 s"]
    assert "flaky exited with code 3 after 0 s" in caplog.text
    assert flaky.restarts == 2  # at 1 s and 3 s; the next is due at 7 s
    cli._stop([flaky])


def test_a_killed_process_is_started_again_and_stop_ends_its_whole_tree(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="imagegen")
    sleeper = cli.Supervised(
        "sleeper", f"{sys.executable} -c 'import time; time.sleep(60)'", dict(os.environ)
    )
    sleeper.start()
    time.sleep(0.5)
    first = sleeper.proc.pid
    os.killpg(first, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while sleeper.restarts == 0 and time.monotonic() < deadline:
        sleeper.check(time.monotonic())
        time.sleep(0.05)
    assert sleeper.restarts == 1 and sleeper.proc.pid != first
    assert "sleeper exited with code -9" in caplog.text
    group = sleeper.proc.pid
    cli._stop([sleeper])
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)


def test_proc_refuses_an_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run_process("nope") == 2
    assert "No process 'nope' in the Procfile" in capsys.readouterr().err
