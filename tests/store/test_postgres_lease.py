"""The scheduler lease in the team store (SPEC §8): a takeover from a scheduler that stopped
renewing is not held up by a write of that scheduler stuck half-way (its network cut while its
transaction held the lease row), and that write is ended, not committed later; a scheduler whose
network goes silent (packets dropped, sockets left open) finds out in about half a minute."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from drillkit.store.postgres.lease import Lease, Renewal
from tests.conftest import require_tool
from tests.e2e.tcpproxy import TcpProxy
from tests.teamdb import TeamDb, with_url_user

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


@pytest.mark.slow
def test_a_renewal_over_a_network_gone_silent_is_unreachable_in_about_half_a_minute(team_db: TeamDb) -> None:
    """A cut that drops packets and leaves both sockets open (a firewall, a dead link) is noticed
    by the connection's keepalive and unacknowledged-data limits, not after the many minutes the
    system would wait on its own; the scheduler then gives the lease up as the lease time says."""
    iptables = require_tool("iptables", why="dropping a connection's packets as a dead link would")
    if os.geteuid() != 0:
        pytest.skip("dropping packets with iptables needs root")
    info = psycopg.conninfo.conninfo_to_dict(team_db.owner)
    proxy = TcpProxy((str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)))
    url = with_url_user(f"postgresql://x@127.0.0.1:{proxy.port}/postgres", f"scheduler_{team_db.suffix}", team_db.name)
    lease = Lease(url, 60)
    try:
        assert lease.try_take()
        assert lease.renew() is Renewal.RENEWED
        with _silent(iptables, proxy.port):
            start = time.monotonic()
            renewal = lease.renew()
            waited = time.monotonic() - start
        assert renewal is Renewal.UNREACHABLE
        assert waited < 40, f"the silent network took {waited:.0f} s to notice"
    finally:
        lease.release()
        proxy.close()


@contextmanager
def _silent(iptables: str, port: int) -> Iterator[None]:
    """Every packet to `port` dropped while inside: nothing is closed, nothing answers."""
    rule = ["INPUT", "-p", "tcp", "--dport", str(port), "-j", "DROP"]
    subprocess.run([iptables, "-I", *rule], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run([iptables, "-D", *rule], check=True, capture_output=True)
