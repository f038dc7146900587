"""`StudioSaver` against LangGraph's own checkpointer conformance suite (every capability)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import ProgressCallbacks

from store.checkpointer import StudioSaver
from store.database import Database

pytestmark = pytest.mark.anyio


async def test_studio_saver_passes_the_conformance_suite(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Database(database_url, tmp_path) as database:

        @checkpointer_test(name="StudioSaver")
        async def studio_saver() -> AsyncIterator[StudioSaver]:
            yield StudioSaver(database.pool)

        report = await validate(studio_saver, progress=ProgressCallbacks.verbose())
    report.print_report()
    failures = {
        name: result.failures for name, result in report.results.items() if result.passed is False
    }
    assert not failures, failures
    assert report.passed_all_base()
    untested = sorted(name for name, result in report.results.items() if not result.detected)
    assert untested == [], f"capabilities not implemented: {untested}"
