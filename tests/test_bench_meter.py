"""The benchmarks' CPU meter charges each driver the CPU its rounds used, per process group."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from bench.harness import CpuMeter, alternate

pytestmark = pytest.mark.anyio
BURN_S = 0.3


def burn(seconds: float) -> None:
    """Spend about `seconds` of this process's CPU."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.fixture
def spinner() -> Iterator[int]:
    """A stand-in server: a process of its own that spins while it lives; its pid."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


async def test_cpu_lands_on_the_driver_and_the_group_that_spent_it(spinner: int) -> None:
    meter = CpuMeter([spinner], postmaster=None)

    async def here(_index: int) -> None:
        burn(BURN_S)  # this process: the `clients` group

    async def elsewhere(_index: int) -> None:
        await asyncio.sleep(BURN_S)  # only the spinning server works meanwhile

    await alternate({"here": here, "elsewhere": elsewhere}, 2, 1, meter=meter)

    here_ms, elsewhere_ms = meter.per_session_ms("here"), meter.per_session_ms("elsewhere")
    assert meter.sessions == {"here": 2, "elsewhere": 2}
    # process CPU clocks tick in 10 ms steps, and the spinner shares the cores: wide margins
    assert here_ms["clients"] is not None and here_ms["clients"] > 0.5 * BURN_S * 1000
    assert elsewhere_ms["clients"] is not None and elsewhere_ms["clients"] < 0.2 * BURN_S * 1000
    assert elsewhere_ms["servers"] is not None and elsewhere_ms["servers"] > 0.3 * BURN_S * 1000
    assert here_ms["postgres"] is None  # no embedded Postgres given: not measured
    lines = meter.lines("sequential")
    assert lines[0] == "CPU per session (sequential), milliseconds:"
    assert [line.split()[0] for line in lines[1:]] == ["here", "elsewhere"]
