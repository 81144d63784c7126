"""What a websocket connection costs the ASGI server itself, before any app (issue 18.7's
memory per tab): the minimal echo app `bench/echo_app.py` served by granian (what
`reflex run --env prod` runs here) and by uvicorn; 200 connections, each sending one message
and reading the echo; the server's RSS growth divided by 200. `python bench/transport.py`
runs it alone and merges into bench/results.json (key `transport`).
"""

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONNECTIONS = 200
SERVERS = {
    "granian": lambda port: [
        *(str(BIN / "granian"), "--interface", "asgi", "--port", str(port)),
        "echo_app:app",
    ],
    "uvicorn": lambda port: [str(BIN / "uvicorn"), "--port", str(port), "echo_app:app"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])


async def _kb_per_connection(pid: int, port: int) -> float:
    url = f"ws://127.0.0.1:{port}/"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for _ in range(60):  # until the server answers
            try:
                warm = [await session.ws_connect(url) for _ in range(5)]
                break
            except aiohttp.ClientError:
                await asyncio.sleep(0.5)
        else:
            raise RuntimeError(f"nothing answered on port {port}")
        for ws in warm:
            await ws.send_str("warm")
            await ws.receive()
        await asyncio.sleep(1)
        before = _rss(pid)
        sockets = [await session.ws_connect(url) for _ in range(CONNECTIONS)]
        for ws in sockets:
            await ws.send_str("hello " * 20)
            await ws.receive()
        await asyncio.sleep(2)
        after = _rss(pid)
        for ws in [*warm, *sockets]:
            await ws.close()
    return round((after - before) / CONNECTIONS / 1024, 1)


def run() -> dict[str, float]:
    """KB of server RSS per open websocket connection, per server."""
    out = {}
    for name, command in SERVERS.items():
        port = _free_port()
        server = subprocess.Popen(
            command(port),
            cwd=ROOT / "bench",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            out[f"{name}_kb_per_connection"] = asyncio.run(_kb_per_connection(server.pid, port))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return out


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench import results

    figures = run()
    print(json.dumps(figures, indent=2))
    results.merge({"transport": figures})


if __name__ == "__main__":
    main()
