"""The scheduler lease in the team store (SPEC §8): a takeover from a scheduler that stopped
renewing is not held up by a write of that scheduler stuck half-way (its network cut while its
transaction held the lease row), and that write is ended, not committed later."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from drillkit.store.postgres.lease import Lease
from tests.teamdb import TeamDb

LEASE = 1.0  # seconds


@pytest.mark.slow
def test_a_takeover_ends_the_stuck_write_of_the_scheduler_it_replaces(team_db: TeamDb) -> None:
    old = Lease(team_db.scheduler, LEASE)
    assert old.try_take()
    stuck = psycopg.connect(team_db.scheduler)  # the old scheduler's fenced write, its network cut half-way
    stuck.execute("SELECT epoch FROM drill.lease FOR SHARE")
    time.sleep(LEASE + 0.5)  # the old one renews no more

    new = Lease(team_db.scheduler, LEASE)
    taken: list[bool] = []
    taking = threading.Thread(target=lambda: taken.append(new.try_take()), daemon=True)
    start = time.monotonic()
    taking.start()
    taking.join(timeout=15)
    try:
        assert taken == [True], "the takeover waited on the stuck write"
        assert time.monotonic() - start < 7
        assert new.epoch == 2
        with pytest.raises(psycopg.OperationalError):  # its session was ended: nothing it held is committed
            stuck.execute("SELECT 1")
    finally:
        stuck.close()
        new.release()
        old.release()
