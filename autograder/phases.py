"""Where a grading run's time goes, by named phase (recorded in every result).

``GradingResult.phases`` maps each phase to the wall-clock seconds it took,
summed over exercises; ``benchmarks/bench_grading.py`` prints them as the
breakdown of the grader's overhead. The phases of ``grading.grade``:

- ``probe``: finding the isolation layers (``isolation.probe``, cached);
- ``intake``: opening the submission (unpacking, locating, notebooks) and
  inspecting each exercise module (syntax, imports, loops), in the limited
  intake child;
- ``child_start``: starting sandboxed children, up to their module's import;
- ``student``: waiting for the children's replies to the checks' calls;
- ``datasets``: loading (and checksumming) datasets;
- ``checks``: the rest of the checks' time in the grader (references,
  baselines, comparisons, gradient checks);
- ``child_stop``: stopping children and freeing their runs;
- ``environment``: the versions and isolation level recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class PhaseClock:
    """Accumulated wall-clock seconds per phase name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, phase: str, seconds: float) -> None:
        """Count ``seconds`` more for ``phase``."""
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Count the time of the ``with`` block for ``phase`` (also when it raises)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.add(phase, time.monotonic() - started)

    @contextmanager
    def remainder(self, phase: str) -> Iterator[None]:
        """Count for ``phase`` what the phases timed inside the ``with`` block
        leave of its time (not counted when it raises)."""
        timed_before, started = sum(self.seconds.values()), time.monotonic()
        yield
        self.add(phase, time.monotonic() - started - (sum(self.seconds.values()) - timed_before))

    def rounded(self) -> dict[str, float]:
        """The phases, to the millisecond."""
        return {phase: round(seconds, 3) for phase, seconds in self.seconds.items()}
