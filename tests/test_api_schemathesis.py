"""The OpenAPI document tells the truth: schemathesis against a live server (bounded).

A few examples per operation, so that it stays a small part of the suite's time; the
README's reliability section records the longer run (`--checks all`, 5 minutes)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from tests.api_helpers import serve

pytestmark = [pytest.mark.anyio, pytest.mark.schemathesis]

CHECKS = [
    "--checks",
    "all",
    "--exclude-checks",
    "positive_data_acceptance,negative_data_rejection",
]
"""Every check but two, which the README's reliability section explains: some schema-valid
requests are refused on purpose (NUL characters anywhere, a `before` that is not a checkpoint,
a run with nothing to run: 422), and unknown query parameters are ignored (LangGraph SDK
clients send some this server does not use)."""


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    database, tmp_path: Path
) -> None:
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert binary, "schemathesis is a dev dependency (pyproject.toml)"
    async with serve(database, tmp_path) as served:
        _, token = await served.new_thread()
        command = [
            binary,
            "run",
            f"{served.url}/openapi.json",
            *CHECKS,
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "10",
            "--phases",
            "fuzzing",
            "--exclude-path-regex",
            "/stream$",  # followers of a live log: they end only when the thread is deleted
            "--generation-allow-x00",
            "false",
            "--request-timeout",
            "30",
            "--seed",
            "19",
            "--no-color",
        ]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-6000:]
    assert "Server error" not in report
