"""The command sender: run a program (no shell) with the JSON message on its stdin.

The program runs in its own process group so that a timeout kills it and anything it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess

from drillkit.config.notifiers import Notifier
from drillkit.model.clock import Clock
from drillkit.notify.payloads import Message, render
from drillkit.notify.secrets import DeliveryError, Secrets


def run_command(notifier: Notifier, message: Message, secrets: Secrets, clock: Clock) -> None:
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
