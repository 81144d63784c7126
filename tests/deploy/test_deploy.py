"""The README's "Deploying" section, run as written: build the static export, migrate, start
two backends, a worker and the watchdog from its command blocks, serve it all with the
machine's nginx and the shipped config (`deploy/nginx.conf`, `deploy/nginx-split.conf`), and
use it in Chromium: register, reload, generate (live in a second tab), sign out. Once per
topology. Hosts `*.imagegen.test` are mapped to 127.0.0.1 inside Chromium only."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.fixtures.users import unique_email
from tests.support.stack import CHROMIUM, CHROMIUM_ARGS, die_with_parent, free_port

pytestmark = [pytest.mark.deploy]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_DEPLOY_REDIS_URL", "redis://127.0.0.1:6379/13")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "crunchy-armchair-42"
SHIPPED = {"one-origin": "deploy/nginx.conf", "split": "deploy/nginx-split.conf"}


def readme_block(tag: str) -> list[str]:
    """The command lines of the README's fenced block after `<!-- deploy-test: tag -->`."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- deploy-test: {tag} -->\n```bash\n(.*?)```", readme, re.S)
    assert match, f"README.md has no `deploy-test: {tag}` block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def render_nginx(topology: str, *, port: int, backends: list[int], web_root: Path) -> str:
    """The shipped config with this machine's port, backends and web root; every example value
    it replaces must be there, so a changed file is noticed."""
    text = (ROOT / SHIPPED[topology]).read_text()
    api = f"api.imagegen.test:{port}"
    replacements = [
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("/srv/imagegen/www", str(web_root)),
        (
            "server 127.0.0.1:8000;\n    server 127.0.0.1:8001;",
            f"server 127.0.0.1:{backends[0]};\n    server 127.0.0.1:{backends[1]};",
        ),
    ]
    if topology == "split":
        replacements += [
            ("wss://api.example.com", f"ws://{api}"),
            ("https://api.example.com", f"http://{api}"),
            ("api.example.com", "api.imagegen.test"),
        ]
    replacements.append(("app.example.com", "app.imagegen.test"))
    for old, new in replacements:
        assert old in text, f"{SHIPPED[topology]} no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def nginx_main_conf(tmp: Path, site: Path) -> str:
    """A non-root nginx of our own around the shipped server config: everything in `tmp`,
    and an access log that names the backend of each request."""
    user = "user root;" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"  {name}_temp_path {tmp}/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes 1;
error_log {tmp}/error.log;
pid {tmp}/nginx.pid;
events {{ worker_connections 512; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
{temps}
  log_format upstreams '$host $request_uri $status $upstream_addr';
  access_log {tmp}/access.log upstreams;
  include {site};
}}
"""


@dataclass
class Deployment:
    app_url: str
    api_url: str
    backends: list[int]
    tmp: Path

    def upstreams_of_sockets(self) -> set[str]:
        """Backends that took a websocket (`/_event`) through nginx."""
        lines = (self.tmp / "nginx" / "access.log").read_text().splitlines()
        return {line.split()[-1] for line in lines if "/_event" in line and " 101 " in line}


def _start(cmd: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            ["bash", "-c", cmd],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process group, wait until the group is empty, SIGKILL what is left."""

    def alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True

    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for proc in procs:
            proc.poll()
        if not any(alive(proc.pid) for proc in procs):
            return
        time.sleep(0.2)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _logs(tmp: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in sorted(tmp.glob("*.log"))
    )


def _wait_for(
    url: str, procs: list[subprocess.Popen[bytes]], tmp: Path, headers: dict | None = None
) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        dead = [p for p in procs if p.poll() is not None]
        assert not dead, f"a process exited ({dead[0].args}):\n{_logs(tmp)}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers or {}, timeout=3).status_code == 200:
                return
        time.sleep(1)
    pytest.fail(f"{url} did not answer 200:\n{_logs(tmp)}")


@contextlib.contextmanager
def deployment(topology: str, tmp: Path) -> Iterator[Deployment]:
    port = free_port()
    backends = [free_port(), free_port()]
    app_url = f"http://app.imagegen.test:{port}"
    api_url = app_url if topology == "one-origin" else f"http://api.imagegen.test:{port}"
    web_root = tmp / "www"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "REFLEX_USE_NPM": "1",
        "REFLEX_CHECK_LATEST_VERSION": "0",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "APP_URL": app_url,
        "API_URL": api_url,
        "REDIS_URL": REDIS_URL,
        "REFLEX_REDIS_URL": REDIS_URL,
        "DATA_DIR": str(tmp / "data"),
        "OFFLINE_DELAY_SECONDS": "1",
        "GENERATION_TIME_LIMIT_SECONDS": "60",
        "LOG_FORMAT": "text",
    }
    env.pop("REFLEX_API_URL", None)
    env.pop("REFLEX_STATE_MANAGER_MODE", None)
    redis.Redis.from_url(REDIS_URL).flushdb()

    def substitute(line: str) -> str:
        return (
            line.replace("/srv/imagegen/www", str(web_root))
            .replace("PORT=8000", f"PORT={backends[0]}")
            .replace("PORT=8001", f"PORT={backends[1]}")
        )

    started = time.monotonic()
    for block in ("build", "release"):
        script = "set -euo pipefail\n" + "\n".join(substitute(line) for line in readme_block(block))
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, (
            f"README {block} block failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    assert (web_root / "index.html").exists() and (web_root / "404.html").exists()
    print(f"\n{topology}: build + migrate {time.monotonic() - started:.0f} s")

    lines = readme_block("processes")
    assert any("PORT=8000" in line for line in lines) and any("PORT=8001" in line for line in lines)
    procs = [_start(substitute(line), env, tmp / f"proc{i}.log") for i, line in enumerate(lines)]
    nginx_dir = tmp / "nginx"
    nginx_dir.mkdir()
    site = nginx_dir / "imagegen.conf"
    site.write_text(render_nginx(topology, port=port, backends=backends, web_root=web_root))
    main = nginx_dir / "main.conf"
    main.write_text(nginx_main_conf(nginx_dir, site))
    nginx = None
    try:
        for backend in backends:
            _wait_for(f"http://127.0.0.1:{backend}/api/health", procs, tmp)
        nginx = _start(f"{NGINX} -p {nginx_dir} -c {main} -g 'daemon off;'", env, tmp / "nginx.log")
        api_host = api_url.split("//", 1)[1]
        _wait_for(f"http://127.0.0.1:{port}/api/health", [*procs, nginx], tmp, {"Host": api_host})
        print(f"{topology}: up {time.monotonic() - started:.0f} s")
        yield Deployment(app_url=app_url, api_url=api_url, backends=backends, tmp=tmp)
    finally:
        _stop([*procs, *([nginx] if nginx else [])])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP *.imagegen.test 127.0.0.1"],
        )
        yield browser
        browser.close()


def _signed_in(page: Page) -> None:
    expect(page.get_by_label("Prompt")).to_be_visible()
    expect(page.get_by_text("Ada Lovelace", exact=True)).to_be_visible()


@pytest.mark.parametrize("topology", ["one-origin", "split"])
def test_readme_deployment_works_in_a_browser(
    topology: str, engine, browser: Browser, tmp_path: Path
) -> None:
    started = time.monotonic()
    with deployment(topology, tmp_path) as site:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        errors: list[str] = []
        first = context.new_page()
        first.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        # Register on the static host; the form posts to the backend, which signs in and
        # sends the browser back to the app.
        first.goto(f"{site.app_url}/register")
        first.get_by_label("Name").fill("Ada Lovelace")
        first.get_by_label("Email").fill(unique_email(f"deploy-{topology}"))
        first.get_by_label("Password").fill(PASSWORD)
        first.get_by_role("button", name="Create account").click()
        expect(first).to_have_url(f"{site.app_url}/")
        _signed_in(first)
        cookie_hosts = {c["domain"] for c in context.cookies() if c["name"] == "imagegen_session"}
        assert cookie_hosts == {site.api_url.split("//", 1)[1].rsplit(":", 1)[0]}

        first.reload()
        _signed_in(first)

        # Two more tabs opened back to back: nginx hands their sockets to one backend each.
        others = []
        for _ in range(2):
            tab = context.new_page()
            tab.goto(f"{site.app_url}/")
            _signed_in(tab)
            expect(tab.get_by_text("No images yet")).to_be_visible()
            others.append(tab)

        prompt = f"A lighthouse served by two backends ({topology})"
        first.get_by_label("Prompt").fill(prompt)
        first.get_by_role("button", name="Generate").click()
        for tab in (first, *others):
            image = tab.get_by_role("img", name=prompt)
            expect(image).to_be_visible(timeout=45_000)
            expect(tab.get_by_text("9 credits left")).to_be_visible()
            # The picture itself loaded (from the backend, with the session cookie).
            tab.wait_for_function(
                "name => [...document.images].some(i => i.alt === name && i.complete && i.naturalWidth > 0)",
                arg=prompt,
            )
            src = image.first.get_attribute("src") or ""
            assert src.startswith(site.api_url if topology == "split" else "/"), src
        for tab in others:
            tab.close()  # nginx logs a websocket when it closes

        first.get_by_role("button", name="Sign out").click()
        expect(first).to_have_url(re.compile(rf"^{re.escape(site.app_url)}/login/?$"))
        assert not [c for c in context.cookies() if c["name"] == "imagegen_session"]
        first.goto(f"{site.app_url}/")
        expect(first).to_have_url(re.compile(r"/login/?$"))
        assert not [e for e in errors if "Content Security Policy" in e], errors
        context.close()
        # The live tabs' sockets were spread over both backends.
        assert {f"127.0.0.1:{b}" for b in site.backends} <= site.upstreams_of_sockets()
    print(f"{topology}: {time.monotonic() - started:.0f} s in all")
