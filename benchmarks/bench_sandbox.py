"""Cost of the sandbox's layers: time from starting a child to its "ready".

Run as root after ``autograder sandbox-setup``::

    python benchmarks/bench_sandbox.py [--runs 20]

Prints the median and the 90th percentile of the start of a child importing a
small module, with every layer the probe found, with none, and with each
layer removed in turn; the difference to "none" is what the layers cost.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import _common  # noqa: F401  (puts this checkout first on sys.path)

from autograder.sandbox import Child, Limits, isolation

MODULE = "import numpy as np\n\n\ndef f(x):\n    return x\n"


def variants(full: isolation.Layers) -> dict[str, isolation.Layers]:
    """Every probed layer, none, and every probed layer but one."""
    found = {
        "all layers": full,
        "none (process only)": isolation.Layers(),
        "without filesystem (bwrap)": replace(full, bwrap=None, unshare=None),
        "without seccomp": replace(full, seccomp=None),
        "without cgroups": replace(full, cgroups=False),
        "without disk (tmpfs)": replace(full, disk=False),
    }
    if full.bwrap is None:
        found.pop("without filesystem (bwrap)")
    return found


def start_seconds(module: Path, runs: int) -> list[float]:
    """Seconds from ``Child(...)`` to ready, and to closed, ``runs`` times."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        child = Child(module, "bench", Limits(wall_seconds=60.0), time.monotonic() + 60.0, frozenset())
        times.append(time.perf_counter() - started)
        child.close()
    return times


def main() -> None:
    """Measure each variant and print a table in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    full = isolation.probe()
    print(f"probed: {full.describe()}")
    with tempfile.TemporaryDirectory() as folder:
        module = Path(folder, "bench.py")
        module.write_text(MODULE)
        for name, layers in variants(full).items():
            isolation.probe = lambda layers=layers: layers  # what Child asks for
            if layers.user and not layers.bwrap:
                continue  # the sandbox user cannot reach an interpreter under /root without bwrap
            times = sorted(start_seconds(module, runs))
            p90 = times[int(0.9 * (len(times) - 1))]
            print(f"{name:30s} median {statistics.median(times) * 1000:6.0f} ms   p90 {p90 * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
