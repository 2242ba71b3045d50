"""``Child.paused`` stops whatever student code left running between calls.

The attempt it closes: threads that keep the cores busy while the grader times
a speed check's loop baseline (they paused during the student's own call) made
the baseline read 3.5x its time, and a looping answer passed at 16x. Here a
thread counts while the child is paused and while it is not.
"""

from __future__ import annotations

import time

import pytest

from autograder.sandbox import Child
from tests.conftest import start_child

SECONDS = 30.0
"""Budget of the ``Child`` run here (it needs about 2 s)."""

HOLD = 0.3
"""Seconds the test holds the child paused, or lets it run: the counting thread
ticks every millisecond, about 300 times in that time when it runs."""

MODULE = """
import threading
import time

import numpy as np

ticks = [0]


def _count():
    while True:
        ticks[0] += 1
        time.sleep(0.001)


threading.Thread(target=_count, daemon=True).start()


def counted():
    return np.array(ticks[0])
"""


@pytest.fixture
def child(tmp_path):
    started = start_child(tmp_path, "busy", MODULE, SECONDS)
    yield started
    started.close()


def ticks_while(child: Child, paused: bool) -> int:
    """How far the child's thread counted while the grader waited ``HOLD`` seconds."""
    before = int(child.call("counted", seconds=SECONDS))
    if paused:
        with child.paused():
            time.sleep(HOLD)
    else:
        time.sleep(HOLD)
    return int(child.call("counted", seconds=SECONDS)) - before


def test_a_paused_child_runs_nothing_and_goes_on_afterwards(child):
    assert ticks_while(child, paused=False) > 100  # the thread counts when left alone
    assert ticks_while(child, paused=True) < 30  # stopped, but for the two calls' own time
    assert ticks_while(child, paused=False) > 100  # and counts again once continued
    assert child.alive
