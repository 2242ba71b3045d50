"""``OneProcessPerJob``: each job runs in a process forked from a fork server that
imported the grading modules once (``PRELOAD``), and no job sees another's state."""

from __future__ import annotations

import importlib
import subprocess
import sys

from autograder.executors import PRELOAD, OneProcessPerJob
from tests.conftest import ROOT


def loaded() -> list[str]:
    """The preloaded modules a job finds already imported when it starts."""
    return [name for name in PRELOAD if name in sys.modules]


def mark() -> None:
    importlib.import_module("autograder.batch").MARKED_BY_A_JOB = True


def marked() -> bool:
    return hasattr(importlib.import_module("autograder.batch"), "MARKED_BY_A_JOB")


def test_jobs_start_with_the_preloaded_modules():
    # a fresh interpreter: this one's fork server may have started without the preload
    program = (
        "from autograder.executors import OneProcessPerJob\n"
        "from tests.core.test_executors import loaded\n"
        "with OneProcessPerJob(1) as pool:\n"
        "    print(','.join(pool.submit(loaded).result()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip().split(",") == list(PRELOAD)


def test_a_job_does_not_see_what_an_earlier_job_changed():
    with OneProcessPerJob(1) as pool:
        pool.submit(mark).result()
        assert pool.submit(marked).result() is False
