"""A bare workspace (`ws`), and fake webhooks on 127.0.0.1: `hook` answers from a script, `robot`
limits how fast it takes messages as DingTalk does. Both keep what they got and when (by their clock)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock, SystemClock

HANG = "hang"  # a scripted answer: never answer
# A scripted answer: (status, body) or (status, body, headers); or HANG.
Answer = tuple[int, bytes] | tuple[int, bytes, dict[str, str]] | str
DINGTALK_OK = b'{"errcode":0,"errmsg":"ok"}'
DINGTALK_TOO_FAST = b'{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}'


@dataclass
class Hook:
    """A webhook: answers from a script (the last answer repeats) and keeps what it got."""

    url: str = ""
    script: list[Answer] = field(default_factory=lambda: [(200, b"ok")])
    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    at: list[datetime] = field(default_factory=list)  # when each request arrived, by `clock`
    clock: Clock = field(default_factory=SystemClock)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self.lock:
            self.got.append((path, headers, body))
            self.at.append(self.clock.now())
            return self.answer()

    def answer(self) -> Answer:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body.decode("utf-8")) for _, _, body in self.got]

    def idempotency_keys(self) -> list[str]:
        """The idempotency keys received, in the order they arrived."""
        return [headers["Idempotency-Key"] for _, headers, _ in self.got]

    def most_within(self, seconds: float) -> int:
        """The most requests that arrived within any `seconds` (a rolling window)."""
        window = timedelta(seconds=seconds)
        return max((sum(1 for t in self.at if end - window < t <= end) for end in self.at), default=0)


@dataclass
class Robot(Hook):
    """A chat robot that limits how fast it takes messages, as DingTalk does (reference/webhooks.md):
    HTTP 200 with errcode 130101 to a message that makes more than `limit` within `window`
    seconds, and to every message for `throttle` seconds after that."""

    limit: int = 20
    window: float = 60.0
    throttle: float = 600.0
    throttled_until: datetime | None = None
    refused: int = 0

    def answer(self) -> Answer:
        now = self.at[-1]
        if self.throttled_until is None or now >= self.throttled_until:
            if sum(1 for t in self.at if t > now - timedelta(seconds=self.window)) <= self.limit:
                return (200, DINGTALK_OK)
            self.throttled_until = now + timedelta(seconds=self.throttle)
        self.refused += 1
        return (200, DINGTALK_TOO_FAST)


H = TypeVar("H", bound=Hook)


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True
    hook: Hook


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        hook = cast(_HookServer, self.server).hook
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = hook.receive(self.path, dict(self.headers.items()), body)
        if answer == HANG:
            hook.release.wait(30)
            return
        status, payload, *more = cast(tuple[Any, ...], answer)
        self.send_response(status)
        for name, value in (more[0] if more else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what the hook got instead."""


def _serve(hook: H) -> Iterator[H]:
    server = _HookServer(("127.0.0.1", 0), _Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/robot/send"
    server.hook = hook
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield hook
    hook.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def hook() -> Iterator[Hook]:
    yield from _serve(Hook())


@pytest.fixture
def robot() -> Iterator[Robot]:
    """A DingTalk-like robot on the wall clock; a test on a virtual clock sets `robot.clock`."""
    yield from _serve(Robot())
