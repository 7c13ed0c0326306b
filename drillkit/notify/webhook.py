"""The webhook sender: one HTTP POST per attempt, signed for DingTalk and Feishu.

Redirects are refused (they could carry the token to another host), the answer is read up to
`RESPONSE_LIMIT` bytes, and the platforms that answer HTTP 200 to a rejection have their own
error code read. Every failure is a `DeliveryError` saying whether another attempt may succeed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote_plus, urlsplit

from drillkit import __version__
from drillkit.config.notifiers import BACKOFF_CAP, Notifier
from drillkit.model.clock import Clock
from drillkit.notify.payloads import Message, render
from drillkit.notify.secrets import DeliveryError, Secrets, redact_url

RESPONSE_LIMIT = 65536
# Rate-limit answers, and how long each platform then holds the robot back, in seconds (shared
# reference on webhooks): DingTalk throttles it for 10 minutes; WeCom and Feishu count by the minute.
THROTTLES = {130101: 600.0, 45009: 60.0, 11232: 60.0}
UNSAID_RETRY_AFTER = 60.0  # a 429 that does not say how long: a minute, the usual window
MAX_THROTTLE = 600.0  # a Retry-After longer than the longest known throttle is taken as that


def _snippet(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    return text[:120]


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


def _signed(notifier: Notifier, url: str, body: dict[str, Any], secrets: Secrets, clock: Clock) -> str:
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


def post(notifier: Notifier, message: Message, secrets: Secrets, clock: Clock) -> None:
    url = secrets.expand(notifier.url)
    target = _target(url, secrets)
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


def _target(url: str, secrets: Secrets) -> str:
    """The expanded url as messages show it, its token-like parts kept to be scrubbed; a
    DeliveryError when it is no http or https address with a host. The error quotes no part
    of the url: a url as short as `http://` would be scrubbed out of it."""
    secrets.values.add(url)
    try:
        secrets.add_url(url)
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError("the url, once expanded, is not a web address with a host", retry=False)
    return redact_url(url)


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
        return _too_many(text, err.headers.get("Retry-After", ""))
    return DeliveryError(text, retry=err.code == 408 or err.code >= 500)


def _too_many(text: str, after: str) -> DeliveryError:
    """A 429: wait what Retry-After says (in seconds), within 1 s and MAX_THROTTLE; a minute when it says nothing."""
    if not after.isdigit():
        return DeliveryError(text, retry=True, throttle=UNSAID_RETRY_AFTER)
    asked = float(after)
    return DeliveryError(text, retry=True, wait=min(asked, BACKOFF_CAP), throttle=min(max(asked, 1.0), MAX_THROTTLE))


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
    if not isinstance(code, int):  # an answer in another shape (another platform, a proxy): quote it
        raise DeliveryError(f"{fmt} answered without a numeric {code_key}: {_snippet(answer)}", retry=False)
    text = f"{fmt} answered {code_key} {code}: {_snippet(str(document.get(text_key, '')).encode())}"
    raise DeliveryError(text, retry=code in THROTTLES, throttle=THROTTLES.get(code))
