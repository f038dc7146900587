"""Shared fixtures: the anyio backend, real Postgres (one server, a fresh database per test),
and the studio graph with its embedded context on that database."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from store.database import Database, Pool, start_embedded_postgres, stop_embedded_postgres
from tests.studio_helpers import fresh_graph, make_context

pytest_plugins = ("tests.ui_harness",)
"""The browser tests' fixtures: `server` (a real `studio serve`), `browser`, `page`."""


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Admin URL of the session's Postgres: TEST_DATABASE_URL, else one embedded server
    (one per pytest-xdist worker: `make test-fast` runs two)."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    # A short path of our own: pytest's tmp paths can exceed the unix-socket path limit.
    home = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    try:
        url = start_embedded_postgres(home / "pg")
        _tune_for_tests(url)
        yield url
    finally:
        stop_embedded_postgres(home / "pg")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_template(postgres_url: str) -> Iterator[str]:
    """A database migrated once per session by `Database` itself (the app's migrations and
    the checkpointer's setup), never connected to again: the `database` fixture copies it."""
    name = f"template_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    home = Path(tempfile.mkdtemp(prefix="studio-template-"))
    try:
        asyncio.run(_open_and_close(with_dbname(postgres_url, name), home))
        yield name
    finally:
        shutil.rmtree(home, ignore_errors=True)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def _open_and_close(url: str, home: Path) -> None:
    async with Database(url, home):
        pass


@pytest.fixture
def database_url(postgres_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh `test_<hex>` database, dropped after the test. Empty; but where the test uses
    the `database` fixture, which would migrate it, a copy of `migrated_template` (`CREATE
    DATABASE ... TEMPLATE`: a few times cheaper than migrating), unless it is marked
    `fresh_database`."""
    name = f"test_{uuid.uuid4().hex}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if "database" in request.fixturenames and not request.node.get_closest_marker("fresh_database"):
        template = request.getfixturevalue("migrated_template")
        create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(create)
    try:
        yield with_dbname(postgres_url, name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            # FORCE terminates the sessions a failed test may have left open.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
async def database(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An open `Database` on a fresh database: migrated, pool open, checkpointer set up (on a
    copy of `migrated_template`, opening finds every migration applied)."""
    async with Database(database_url, tmp_path) as db:
        yield db


@pytest.fixture
def pool(database: Database) -> Pool:
    """The open pool of the `database` fixture."""
    return database.pool


@pytest.fixture
def tid() -> str:
    """A new thread id."""
    return str(uuid.uuid4())


@pytest.fixture
def context(database: Database, tmp_path: Path) -> Any:
    """The studio's embedded defaults on the `database` fixture, assets under `tmp_path`."""
    return make_context(database.pool, tmp_path / "assets")


@pytest.fixture
def graph(database: Database) -> Any:
    """The studio graph on the `database` fixture's checkpointer."""
    return fresh_graph(database.saver)


def with_dbname(url: str, dbname: str) -> str:
    """`url` pointing at another database on the same server (URL or key=value form)."""
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        return urlunsplit(parts._replace(path=f"/{dbname}"))
    return make_conninfo(url, dbname=dbname)


def _tune_for_tests(url: str) -> None:
    # Durability is worthless for a throwaway server; without fsync CREATE DATABASE is faster.
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")


SLOW_MODULES = frozenset(
    {
        "test_api_restart",
        "test_api_scaleout",
        "test_api_schemathesis",
        "test_langgraph_dev",
        "test_resume_after_kill",
        "test_video_kill",
    }
)
"""Modules that start whole server processes, kill them or fuzz the API for a while."""
SLOW_FIXTURES = frozenset({"page", "env", "server"})
"""A browser page, a CLI subprocess's environment, a studio server process."""
SLOW_TESTS: dict[str, frozenset[str]] = {
    # processes of their own, outside the fixtures above: the `studio` CLI, a second server,
    # an embedded Postgres that is killed or restarted, spinners
    "test_bench_meter": frozenset({"test_cpu_lands_on_the_driver_and_the_group_that_spent_it"}),
    "test_caller_cache": frozenset({"test_a_change_on_one_process_applies_on_the_other_at_once"}),
    "test_cli_engine": frozenset({"test_db_status_and_stop_manage_the_embedded_postgres"}),
    "test_comfyui_pool": frozenset({"test_studio_check_reports_every_server_of_the_pool"}),
    "test_database": frozenset(
        {
            "test_embedded_database_survives_a_killed_process",
            "test_embedded_database_restarts_after_the_server_was_killed",
            "test_embedded_database_starts_over_a_pid_file_naming_another_process",
            "test_the_embedded_mode_starts_without_a_runtime_dir_warning",
        }
    ),
    "test_deliverables": frozenset({"test_cli_deliverable_flag_gives_exactly_those"}),
    "test_export": frozenset(
        {
            "test_cli_export_writes_the_package_and_the_summary_points_at_it",
            # whole sessions, as below
            "test_export_of_an_approved_thread_names_files_by_deliverable",
            "test_export_before_approval_holds_the_current_variants_and_says_so",
        }
    ),
    "test_media_lab_embedded": frozenset(
        {
            "test_kill_9_mid_interpolation_resumes_from_the_last_checkpointed_chunk",
            "test_resume_after_two_of_four_chunks_gives_the_same_video",
        }
    ),
    # whole studio sessions end to end: a brief through plans, rendered images (or video
    # stages) and gates, often over HTTP; 1-9 CPU seconds each on the 2-core box where the
    # rest take milliseconds to a few hundred
    "test_api_accounts": frozenset(
        {
            "test_a_link_signs_a_browser_in_and_a_password_signs_it_in_again",
            "test_a_personal_token_drives_the_unmodified_sdk_and_dies_when_revoked",
            "test_a_disabled_users_credentials_stop_and_admins_still_read_their_threads",
            "test_every_route_refuses_every_wrong_credential",
        }
    ),
    "test_api_access": frozenset({"test_outputs_assets_timeline_and_settings"}),
    "test_api_assistants": frozenset({"test_a_run_may_name_the_assistant_by_its_uuid"}),
    "test_api_audit": frozenset(
        {
            "test_each_action_is_recorded_with_its_actor_and_outcome",
            "test_the_ab_tests_controls_and_run_deletion_are_audited",
        }
    ),
    "test_api_grants": frozenset(
        {
            "test_grants_reach_one_thread_with_their_role_only",
            "test_signed_urls_are_short_lived_scoped_and_revocable",
            "test_no_bearer_token_reaches_a_log",
        }
    ),
    "test_api_hardening": frozenset(
        {"test_a_deleted_thread_never_comes_back", "test_one_run_cannot_fill_the_event_log"}
    ),
    "test_api_library": frozenset({"test_each_caller_sees_what_they_reach_and_nothing_else"}),
    "test_api_media": frozenset({"test_each_kind_runs_end_to_end_on_the_embedded_backend"}),
    "test_api_protocol": frozenset(
        {
            "test_resume_with_command_by_value_and_by_interrupt_id",
            "test_failure_mid_stream_is_one_error_event_and_resumable",
        }
    ),
    "test_api_telemetry": frozenset(
        {
            "test_metrics_move_with_a_real_session",
            "test_json_log_lines_from_a_run_carry_thread_run_and_node",
            "test_spans_of_a_served_run_reach_the_collector",
        }
    ),
    "test_checkpointer": frozenset(
        {
            "test_fresh_saver_resumes_a_studio_session_mid_run",
            "test_storage_per_step_stays_flat_as_the_thread_grows",
        }
    ),
    "test_dev_context": frozenset(
        {
            "test_a_run_without_a_context_runs_on_the_registered_default",
            "test_a_run_with_its_own_context_uses_it",
            "test_the_format_subgraphs_run_on_the_default_too",
        }
    ),
    "test_graph_rules": frozenset(
        {
            "test_out_of_bounds_specs_are_clamped",
            "test_same_seed_same_session",
            "test_stream_carries_tokens_phases_progress_assets_and_gates",
            "test_one_failed_deliverable_does_not_stop_the_others",
            "test_generation_waits_queued_while_the_image_server_is_away",
            "test_a_server_away_too_long_stops_the_run_resumably",
        }
    ),
    "test_launch_api": frozenset(
        {
            "test_observations_add_up_from_json_and_csv_and_a_bad_row_is_named",
            "test_declare_is_refused_below_90_percent_then_the_results_carry_the_winner",
            "test_the_deadline_ends_the_test_after_a_restart",
            "test_the_simulator_is_polled_by_the_timers_until_a_winner",
        }
    ),
    "test_media_chat": frozenset(
        {
            "test_upscale_said_at_the_output_gate_joins_the_threads_outputs",
            "test_a_creators_ask_is_refused_in_words",
            "test_a_reference_attached_to_a_thread_makes_a_new_variant_from_its_brief",
        }
    ),
    # parametrized sweeps of real renders (40, 8, 12 and 4 posters); the renderer's other
    # tests still draw one of each kind
    "test_renderer": frozenset(
        {
            "test_the_subject_stays_inside_the_frame",
            "test_the_sky_has_no_seam",
            "test_lettering_keeps_clear_of_the_sun_and_the_subject",
            "test_brightness_tracks_the_spec",
        }
    ),
    "test_thread_references": frozenset(
        {
            "test_a_threads_reference_drives_pixels_specs_and_the_render",
            "test_without_references_the_specs_are_as_before",
            "test_on_comfyui_a_threads_reference_is_the_img2img_init_image",
        }
    ),
    "test_video_budget": frozenset({"test_a_regeneration_past_the_budget_is_refused_at_the_gate"}),
    "test_video_media": frozenset({"test_the_cut_has_voice_captions_and_the_scripted_length"}),
}
"""Single tests that start processes of their own, drive whole studio sessions or sweep many
real renders."""
SESSION_MODULES = frozenset(
    {
        "test_api_branches",
        "test_api_runs",
        "test_graph",
        "test_launch_graph",
        "test_lens_graph",
        "test_listening",
        "test_ollama_studio",
        "test_video_export",
        "test_video_graph",
    }
)
"""Modules whose tests drive whole studio sessions end to end, nearly all of them (their few
quicker ones, about 3 CPU seconds together, go with them)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` the browser, CLI-subprocess and multi-process tests, those that drive whole
    studio sessions end to end and the sweeps of real renders; `make test-fast` runs the rest
    (`-m "not slow"`), `make test` everything."""
    for item in items:
        module = item.path.stem
        name = getattr(item, "originalname", item.name)
        fixtures = set(getattr(item, "fixturenames", ()))
        if (
            module in SLOW_MODULES
            or module in SESSION_MODULES
            or module.startswith("test_ui_")
            or fixtures & SLOW_FIXTURES
            or name in SLOW_TESTS.get(module, ())
        ):
            item.add_marker(pytest.mark.slow)
