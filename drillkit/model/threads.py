"""Daemon worker threads with futures, for the outbox's deliveries and the conductor's appends.

Unlike a ThreadPoolExecutor's threads, which the interpreter joins as it exits, these never keep a
finished command alive: a webhook that answers slowly, or an append waiting on a record's lock,
ends with the process (the record is the truth, and owed deliveries stay owed in it)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class DaemonThreads(Generic[T]):
    """Up to `count` daemon threads named `name`, started as tasks arrive."""

    def __init__(self, count: int, name: str) -> None:
        self._count, self._name = count, name
        self._tasks: queue.SimpleQueue[tuple[Future[T], Callable[[], T]] | None] = queue.SimpleQueue()
        self._started = 0

    def submit(self, task: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._tasks.put((future, task))
        if self._started < self._count:
            threading.Thread(target=_work, args=(self._tasks,), name=self._name, daemon=True).start()
            self._started += 1
        return future

    def stop(self) -> None:
        """Let the threads end once the tasks before this are done; tasks submitted later go to new
        threads and a new queue (an old thread may still be waiting on a lock)."""
        for _ in range(self._started):
            self._tasks.put(None)
        self._tasks, self._started = queue.SimpleQueue(), 0


def _work(tasks: queue.SimpleQueue[tuple[Future[T], Callable[[], T]] | None]) -> None:
    """One thread: runs tasks until it takes the None that stops it."""
    while (item := tasks.get()) is not None:
        future, task = item
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(task())
            except BaseException as error:  # handed to whoever reads the future
                future.set_exception(error)
