"""Notifiers (SPEC §7): `[[notify]]` from `drill.toml`, the senders, and the outbox.

The record is the outbox. A conducting process calls `Outbox.poll(run_id, events)` from its
loop; matching events with no `notify.sent`/`notify.failed` yet are handed to a small thread
pool, delivered at least once with `<run>:<seq>` as the idempotency key (an `Idempotency-Key`
header for webhooks, `idempotency_key` in the JSON on a command's stdin), and the outcome is
appended to the run's record. Nothing that writes an event waits on the network.

Secrets: `${VAR}` is expanded from the environment at send time only. Error texts name a
webhook by scheme and host alone and have every expanded value, header value and URL part
scrubbed, so no token reaches a record, an export or a log.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

from drillkit import __version__
from drillkit.clock import Clock, format_utc
from drillkit.durations import parse_duration
from drillkit.errors import DrillError, NotFound, UsageError
from drillkit.payloads import FORMATS, Message, RunInfo, describe, probe_message, render
from drillkit.workspace import Workspace

KINDS = ("command", "webhook")
MODES = ("incident", "drill")
NOTIFIABLE = (
    "run.started",
    "inject.delivered",
    "transition",
    "check.done",
    "note",
    "assigned",
    "severity.changed",
    "deadline.breached",
    "record.repaired",
    "run.ended",
)
DEFAULT_EVENTS = ("run.started", "inject.delivered", "deadline.breached", "run.ended")
OUTCOMES = ("notify.sent", "notify.failed")
BACKOFF_CAP = 60.0
RESPONSE_LIMIT = 65536
_COMMON_KEYS = ("name", "kind", "events", "modes", "attempts", "timeout", "backoff")
_KIND_KEYS = {"command": ("command",), "webhook": ("url", "format", "headers", "secret")}
SIGNED_FORMATS = ("dingtalk", "feishu")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Platform error codes that mean "slow down, try again" (reference/webhooks.md).
_RETRYABLE_CODES = frozenset({130101, 45009, 11232})
_TOKEN_MIN = 6


@dataclass(frozen=True, kw_only=True)
class Notifier:
    """One `[[notify]]` entry, validated; `${VAR}` still unexpanded."""

    name: str
    kind: str
    events: frozenset[str]
    modes: frozenset[str]
    command: tuple[str, ...] = field(default=(), repr=False)  # may hold a token: kept out of reprs and logs
    url: str = field(default="", repr=False)
    format: str = "json"
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secret: str = field(default="", repr=False)
    attempts: int = 5
    timeout: float = 5.0
    backoff: float = 1.0

    def wants(self, event_type: str, mode: str) -> bool:
        return event_type in self.events and mode in self.modes

    def delay(self, attempt: int) -> float:
        """Wait after failed attempt `attempt` (1-based): doubling from `backoff`, capped."""
        return float(min(self.backoff * 2 ** (attempt - 1), BACKOFF_CAP))


@dataclass(frozen=True, kw_only=True)
class Outcome:
    ok: bool
    attempts: int
    error: str | None = None
    abandoned: bool = False


# --- configuration -------------------------------------------------------------------------


def load_notifiers(ws: Workspace) -> tuple[Notifier, ...]:
    return parse_notifiers(ws.config().notify)


def parse_notifiers(entries: Iterable[Any]) -> tuple[Notifier, ...]:
    """Every `[[notify]]` table, or a UsageError naming `drill.toml`, the notifier and what is allowed."""
    notifiers = tuple(_notifier(entry, index) for index, entry in enumerate(entries, 1))
    seen: set[str] = set()
    for notifier in notifiers:
        if notifier.name in seen:
            raise _bad(f"notifier {notifier.name!r}", "the name is used twice; give each [[notify]] its own name")
        seen.add(notifier.name)
    return notifiers


def _bad(label: str, problem: str) -> UsageError:
    return UsageError(f"drill.toml: {label}: {problem}")


def _notifier(entry: Any, index: int) -> Notifier:
    if not isinstance(entry, dict):
        raise _bad(f"[[notify]] #{index}", "must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _bad(f"[[notify]] #{index}", "needs a name of letters, digits, '_' and '-'")
    label = f"notifier {name!r}"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise _bad(label, f"kind {kind!r} is not allowed; use one of: {', '.join(KINDS)}")
    allowed = (*_COMMON_KEYS, *_KIND_KEYS[kind])
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise _bad(label, f"unknown key {unknown[0]!r} for kind {kind}; allowed: {', '.join(allowed)}")
    common: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "events": _events(entry.get("events", list(DEFAULT_EVENTS)), label),
        "modes": _modes(entry.get("modes", list(MODES)), label),
        "attempts": _attempts(entry.get("attempts", 5), label),
        "timeout": _seconds(entry.get("timeout", 5), "timeout", label, 0.001, 300),
        "backoff": _seconds(entry.get("backoff", 1), "backoff", label, 0, BACKOFF_CAP),
    }
    if kind == "command":
        return Notifier(**common, command=_command(entry.get("command"), label))
    fmt = _format(entry.get("format", "json"), label)
    return Notifier(
        **common,
        url=_url(entry.get("url"), label),
        format=fmt,
        headers=_headers(entry.get("headers", {}), label),
        secret=_secret(entry.get("secret", ""), fmt, label),
    )


def _strings(value: Any, key: str, label: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _bad(label, f"{key} must be a list of non-empty strings")
    return value


def _events(value: Any, label: str) -> frozenset[str]:
    for event in _strings(value, "events", label):
        if event not in NOTIFIABLE:
            raise _bad(label, f"event {event!r} cannot be notified; allowed: {', '.join(NOTIFIABLE)}")
    return frozenset(value)


def _modes(value: Any, label: str) -> frozenset[str]:
    for mode in _strings(value, "modes", label):
        if mode not in MODES:
            raise _bad(label, f"mode {mode!r} is not allowed (simulations never notify); allowed: {', '.join(MODES)}")
    return frozenset(value)


def _attempts(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
        raise _bad(label, f"attempts {value!r} is not allowed; use a whole number from 1 to 20")
    return value


def _seconds(value: Any, key: str, label: str, low: float, high: float) -> float:
    """Seconds as a TOML number (`0.5`) or a duration string (`5s`), within [low, high]."""
    if isinstance(value, str):
        try:
            seconds = float(parse_duration(value))
        except ValueError as err:
            raise _bad(label, f"{key}: {err}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise _bad(label, f"{key} must be seconds (a number) or a duration like '5s'")
    if not low <= seconds <= high:
        raise _bad(label, f"{key} {value!r} is out of range; allowed: {low:g} to {high:g} seconds")
    return seconds


def _command(value: Any, label: str) -> tuple[str, ...]:
    if value is None:
        raise _bad(label, 'kind command needs command = ["program", "arg", …]')
    return tuple(_strings(value, "command", label))


def _url(value: Any, label: str) -> str:
    if not isinstance(value, str) or not (value.startswith(("http://", "https://", "${"))):
        raise _bad(label, 'kind webhook needs url = "https://…" (secrets as ${VAR})')
    return value


def _format(value: Any, label: str) -> str:
    if value not in FORMATS:
        raise _bad(label, f"format {value!r} is not allowed; use one of: {', '.join(FORMATS)}")
    return str(value)


def _secret(value: Any, fmt: str, label: str) -> str:
    """The signing secret (加签 / 签名校验) of a DingTalk or Feishu robot."""
    if value and fmt not in SIGNED_FORMATS:
        raise _bad(label, f"secret signs only formats {', '.join(SIGNED_FORMATS)}, not {fmt}")
    if not isinstance(value, str):
        raise _bad(label, 'secret must be a string, e.g. secret = "${DING_SECRET}"')
    return value


def _headers(value: Any, label: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _bad(label, 'headers must be a table of strings, e.g. headers = { Authorization = "Bearer ${TOKEN}" }')
    return tuple((str(k), v) for k, v in value.items())


# --- secrets -------------------------------------------------------------------------------


class DeliveryError(Exception):
    """One failed attempt; `retry` says whether another attempt may succeed."""

    def __init__(self, text: str, *, retry: bool, wait: float | None = None) -> None:
        super().__init__(text)
        self.retry = retry
        self.wait = wait


@dataclass
class _Secrets:
    """Every secret value met while preparing one attempt, to scrub from its error text."""

    values: set[str] = field(default_factory=set)

    def expand(self, text: str) -> str:
        """`${VAR}` from the environment; a missing variable fails the attempt for good."""

        def one(match: re.Match[str]) -> str:
            value = os.environ.get(match[1])
            if value is None:
                raise DeliveryError(f"environment variable {match[1]} is not set", retry=False)
            self.values.add(value)
            return value

        return _VAR.sub(one, text)

    def add_url(self, url: str) -> None:
        """The whole URL, and the parts of it long enough to be a token."""
        parts = urlsplit(url)
        self.values.add(url)
        pieces = (parts.path, parts.query, *(value for _, value in parse_qsl(parts.query)))
        self.values.update(piece for piece in pieces if len(piece) >= _TOKEN_MIN)

    def scrub(self, text: str) -> str:
        for value in sorted(self.values - {""}, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def redact_url(url: str) -> str:
    """A webhook as shown anywhere: scheme and host only (path and query may hold the token)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}:{port}" if port else f"{parts.scheme}://{host}"


def _snippet(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    return text[:120]


# --- senders -------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could carry the token to another host: treat it as an error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def dingtalk_signed_url(url: str, secret: str, millis: int) -> str:
    """DingTalk 加签: HMAC-SHA256(key=secret, msg="<ms>\\n<secret>"), Base64, URL-encoded once, as query."""
    digest = hmac.new(secret.encode("utf-8"), f"{millis}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode("ascii"))
    return f"{url}{'&' if urlsplit(url).query else '?'}timestamp={millis}&sign={sign}"


def feishu_sign(secret: str, seconds: int) -> str:
    """Feishu 签名校验: HMAC-SHA256 keyed by "<s>\\n<secret>" over an empty message, Base64."""
    digest = hmac.new(f"{seconds}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _signed(notifier: Notifier, url: str, body: dict[str, Any], secrets: _Secrets, clock: Clock) -> str:
    """Sign a request with a fresh timestamp: DingTalk in the URL, Feishu in the body."""
    secret = secrets.expand(notifier.secret)
    secrets.values.add(secret)
    now = clock.now().timestamp()
    if notifier.format == "dingtalk":
        signed = dingtalk_signed_url(url, secret, int(now * 1000))
        secrets.add_url(signed)
        return signed
    body["timestamp"] = str(int(now))
    body["sign"] = feishu_sign(secret, int(now))
    secrets.values.add(body["sign"])
    return url


def _post(notifier: Notifier, message: Message, secrets: _Secrets, clock: Clock) -> None:
    url = secrets.expand(notifier.url)
    secrets.add_url(url)
    target = redact_url(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError("the url is not http:// or https:// once expanded", retry=False)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"drillkit/{__version__}",
        "Idempotency-Key": message.key,
    }
    for key, value in notifier.headers:
        headers[key] = secrets.expand(value)
        secrets.values.add(headers[key])
    body = render(notifier.format, message)
    if notifier.secret:
        url = _signed(notifier, url, body, secrets, clock)
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    status, answer = _exchange(urllib.request.Request(url, data=raw, headers=headers, method="POST"), notifier, target)
    _check_answer(notifier.format, status, answer, target)


def _exchange(request: urllib.request.Request, notifier: Notifier, target: str) -> tuple[int, bytes]:
    """One POST: (status, body) of a 2xx answer, else a DeliveryError saying whether to retry."""
    try:
        with _OPENER.open(request, timeout=notifier.timeout) as response:
            return int(response.status), response.read(RESPONSE_LIMIT)
    except urllib.error.HTTPError as err:
        with err:
            raise _http_error(err, target) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise _timed_out(notifier, target) from None
        raise DeliveryError(f"cannot reach {target}: {err.reason}", retry=True) from None
    except TimeoutError:
        raise _timed_out(notifier, target) from None
    except (OSError, http.client.HTTPException) as err:
        raise DeliveryError(f"connection to {target} failed: {err!r}", retry=True) from None
    except (ValueError, UnicodeError) as err:
        raise DeliveryError(f"cannot build the request: {err}", retry=False) from None


def _timed_out(notifier: Notifier, target: str) -> DeliveryError:
    return DeliveryError(f"timed out: no answer from {target} within {notifier.timeout:g}s", retry=True)


def _http_error(err: urllib.error.HTTPError, target: str) -> DeliveryError:
    text = f"HTTP {err.code} from {target}"
    try:
        detail = _snippet(err.read(RESPONSE_LIMIT))
    except (OSError, http.client.HTTPException):
        detail = ""
    if detail:
        text += f": {detail}"
    if err.code == 429:
        after = err.headers.get("Retry-After", "")
        return DeliveryError(text, retry=True, wait=min(float(after), BACKOFF_CAP) if after.isdigit() else None)
    return DeliveryError(text, retry=err.code == 408 or err.code >= 500)


def _check_answer(fmt: str, status: int, answer: bytes, target: str) -> None:
    """DingTalk, WeCom and Feishu answer HTTP 200 to most rejections: read their code."""
    if fmt in ("json", "slack"):
        return
    try:
        document = json.loads(answer)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise DeliveryError(f"HTTP {status} from {target} without a JSON answer: {_snippet(answer)}", retry=True)
    code_key, text_key = ("code", "msg") if fmt == "feishu" else ("errcode", "errmsg")
    code = document.get(code_key, document.get("StatusCode"))
    if code == 0:
        return
    text = f"{fmt} answered {code_key} {code}: {_snippet(str(document.get(text_key, '')).encode())}"
    raise DeliveryError(text, retry=code in _RETRYABLE_CODES)


def _run_command(notifier: Notifier, message: Message, secrets: _Secrets, clock: Clock) -> None:
    argv = [secrets.expand(arg) for arg in notifier.command]
    program = os.path.basename(notifier.command[0])
    body = json.dumps(render("json", message), ensure_ascii=False).encode("utf-8")
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
    except OSError as err:
        raise DeliveryError(f"cannot run {program}: {err.strerror}", retry=False) from None
    with process:
        try:
            _, errors = process.communicate(body, timeout=notifier.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            raise DeliveryError(
                f"timed out: {program} did not finish within {notifier.timeout:g}s", retry=True
            ) from None
    if process.returncode != 0:
        lines = errors.decode("utf-8", errors="replace").strip().splitlines()
        detail = f": {lines[-1][:120]}" if lines else ""
        raise DeliveryError(f"{program} exited with status {process.returncode}{detail}", retry=True)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """The command and anything it started, so no child keeps the pipes open."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


_SENDERS: dict[str, Callable[[Notifier, Message, _Secrets, Clock], None]] = {"webhook": _post, "command": _run_command}


def deliver(notifier: Notifier, message: Message, clock: Clock, stop: threading.Event | None = None) -> Outcome:
    """Send with retries and exponential backoff; abandoned (nothing to record) if `stop` is set while waiting."""
    stop = stop or threading.Event()
    attempt = 0
    while True:
        attempt += 1
        secrets = _Secrets()
        try:
            _SENDERS[notifier.kind](notifier, message, secrets, clock)
        except DeliveryError as failure:
            error = secrets.scrub(str(failure))
            if not failure.retry or attempt >= notifier.attempts:
                return Outcome(ok=False, attempts=attempt, error=error)
            if stop.wait(failure.wait if failure.wait is not None else notifier.delay(attempt)):
                return Outcome(ok=False, attempts=attempt, error=error, abandoned=True)
        else:
            return Outcome(ok=True, attempts=attempt)


def send_probe(ws: Workspace, clock: Clock, name: str) -> Outcome:
    """`drill notify test NAME`: a `[TEST / 测试]` message through one notifier, now."""
    notifiers = {notifier.name: notifier for notifier in load_notifiers(ws)}
    if name not in notifiers:
        configured = ", ".join(notifiers) or "none"
        raise NotFound(f"no notifier {name!r} in drill.toml; configured: {configured}")
    when = format_utc(clock.now())
    return deliver(notifiers[name], probe_message(name, key=f"test:{when}", when=when), clock)


# --- the outbox ----------------------------------------------------------------------------


def delivered(events: Iterable[dict[str, Any]]) -> set[tuple[str, int]]:
    """(notifier, seq) pairs whose outcome is already in the record."""
    return {(str(e.get("notifier")), int(e["of"])) for e in events if e.get("event") in OUTCOMES}


def due(notifiers: Iterable[Notifier], events: list[dict[str, Any]]) -> list[tuple[Notifier, dict[str, Any]]]:
    """(notifier, event) pairs that match and have no outcome recorded; none for simulations."""
    if not events or events[0].get("event") != "run.started":
        return []
    mode = str(events[0].get("mode"))
    done = delivered(events)
    return [
        (notifier, event)
        for event in events
        for notifier in notifiers
        if notifier.wants(str(event.get("event")), mode) and (notifier.name, event.get("seq")) not in done
    ]


def outcome_draft(notifier: str, seq: int, outcome: Outcome) -> dict[str, Any]:
    return {
        "event": "notify.sent" if outcome.ok else "notify.failed",
        "actor": "system",
        "role": None,
        "notifier": notifier,
        "of": seq,
        "attempts": outcome.attempts,
        "error": outcome.error,
    }


def _stderr(text: str) -> None:
    sys.stderr.write(text + "\n")


class Outbox:
    """Delivers the matching events of runs from their records, in background threads.

    Wiring: `outbox = Outbox(ws, clock, load_notifiers(ws))`; call `outbox.poll(run_id, events)`
    with the events just read (or appended) in the conducting loop; `outbox.close(timeout)` on
    the way out. `poll` returns at once; an event is claimed once per process, so a later poll
    with an older read of the record does not send it twice.
    """

    def __init__(
        self,
        ws: Workspace,
        clock: Clock,
        notifiers: Iterable[Notifier],
        *,
        workers: int = 4,
        report: Callable[[str], None] = _stderr,
    ) -> None:
        self._ws, self._clock, self._notifiers = ws, clock, tuple(notifiers)
        self._report = report
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drill-notify")
        self._lock = threading.Lock()
        self._claimed: set[tuple[str, str, int]] = set()
        self._futures: set[Future[None]] = set()
        self._stop = threading.Event()
        self._closed = False

    def poll(self, run_id: str, events: list[dict[str, Any]]) -> int:
        """Hand every undelivered matching event to the pool; the number handed over."""
        if self._closed:
            return 0
        handed = 0
        for notifier, event in due(self._notifiers, events):
            claim = (run_id, notifier.name, int(event["seq"]))
            with self._lock:
                if claim in self._claimed:
                    continue
                self._claimed.add(claim)
            message = describe(event, RunInfo.from_started(events[0]))
            self._submit(run_id, notifier, message, claim[2])
            handed += 1
        return handed

    def close(self, timeout: float = 10.0) -> bool:
        """Wait up to `timeout` s for deliveries under way, then abandon the rest unrecorded
        (the next conducting process delivers them again). True when none was abandoned."""
        self._closed = True
        with self._lock:
            running = set(self._futures)
        _, unfinished = wait(running, timeout=timeout)
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        return not unfinished

    def _submit(self, run_id: str, notifier: Notifier, message: Message, seq: int) -> None:
        future = self._pool.submit(self._deliver, run_id, notifier, message, seq)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _deliver(self, run_id: str, notifier: Notifier, message: Message, seq: int) -> None:
        try:
            outcome = deliver(notifier, message, self._clock, self._stop)
            if not outcome.abandoned:
                self._record(run_id, notifier.name, seq, outcome)
        except Exception as err:  # a worker must never fail silently: say what was lost
            self._report(f"drill: notifier {notifier.name}: event {seq} of run {run_id}: {err}")

    def _record(self, run_id: str, name: str, seq: int, outcome: Outcome) -> None:
        """Append the outcome unless one is already recorded for (name, seq).

        Outcomes may follow `run.ended`: the run's last events are delivered after it ends.
        """
        from drillkit.record import RunRecord

        draft = outcome_draft(name, seq, outcome)

        def decide(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [] if (name, seq) in delivered(events) else [draft]

        try:
            RunRecord(self._ws, run_id).append(decide, self._clock)
        except DrillError as err:
            self._report(f"drill: notifier {name}: cannot record the outcome for event {seq} of run {run_id}: {err}")
            return


def describe_outcome(outcome: Outcome) -> str:
    """`sent (1 attempt)` or `failed after 3 attempts: …`, as `drill notify test` says it too."""
    tries = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
    return f"sent ({tries})" if outcome.ok else f"failed after {tries}: {outcome.error}"
