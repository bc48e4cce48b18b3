"""The scheduler's leadership moves when its leader dies: the lock is the leader's session's, and a killed process's
session ends with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg

from forewarn.scheduler import LEADER_LOCK_KEY, LeaderLock

LEADER = """
import sys, time
from forewarn.scheduler import LeaderLock
lock = LeaderLock(sys.argv[1])
assert lock.try_acquire()
print("leading", lock._conn.execute("SHOW tcp_keepalives_idle").fetchone()[0], flush=True)
time.sleep(600)
"""


def test_leadership_moves_within_30_s_when_the_leader_is_killed(db_url):
    leader = subprocess.Popen([sys.executable, "-c", LEADER, db_url], stdout=subprocess.PIPE, text=True)
    follower = LeaderLock(db_url)
    try:
        # The server probes the leader's silent connection after 5 s idle (not the system's two hours).
        assert leader.stdout is not None and leader.stdout.readline().split() == ["leading", "5"]
        assert follower.try_acquire() is False
        with psycopg.connect(db_url) as conn:
            holder = conn.execute("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                                  "WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted",
                                  (LEADER_LOCK_KEY,)).fetchone()
        assert holder == ("forewarn-scheduler-leader",)
        os.kill(leader.pid, signal.SIGKILL)
        killed = time.monotonic()
        leader.wait(10)
        while not follower.try_acquire():
            assert time.monotonic() - killed < 30, "leadership did not move within 30 s"
            time.sleep(0.2)
    finally:
        if leader.poll() is None:
            leader.kill()
            leader.wait(10)
        follower.release()
