"""Usage errors of the `studio` command: one readable line naming the argument at fault, exit 2,
no traceback (findings F9-F14)."""

from __future__ import annotations

import json
from pathlib import Path

from store.export import export_name
from tests.test_cli import env, studio

__all__ = ["env"]  # the fixture, shared with test_cli


def test_media_submit_bad_arguments_are_one_line(env: dict[str, str]) -> None:
    for args, expected in [
        (["nope", "--factor", "2"], "error: INPUTS: an upload id"),
        (["0123abcd", "--factor", "99"], "error: --factor: must be 2 or 4; got 99"),
        (["0123abcd", "--fps", "0"], "error: --fps:"),
    ]:
        done = studio(env, "media", "submit", "upscale", *args)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith(expected), done.stderr
        assert "Traceback" not in done.stderr and "pydantic" not in done.stderr


def test_export_to_an_unwritable_out_names_the_path(env: dict[str, str], tmp_path: Path) -> None:
    started = json.loads(studio(env, "run", "a lighthouse at dusk", "--json").stdout)
    tid = started["thread_id"]
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    refused = studio(env, "export", tid, "--out", str(a_file))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == (
        f"error: --out: cannot write to {a_file}: it is a file, not a folder"
    )
    under = studio(env, "export", tid, "--out", str(a_file / "sub"))
    assert under.returncode == 2, under.stderr
    assert (
        under.stderr.strip() == f"error: --out: cannot write to {a_file / 'sub'}: Not a directory"
    )
    assert "studio resume" not in refused.stderr + under.stderr
    # an unknown action is refused whatever the thread's state (here: at the plan gate; and
    # on a thread that has ended, it used to be ignored silently)
    stopped = studio(env, "resume", tid, "--action", "stop", "--json")
    assert stopped.returncode == 0, stopped.stderr
    dance = studio(env, "resume", tid, "--action", "dance")
    assert dance.returncode == 2
    assert dance.stderr.strip().startswith("error: --action: expected one of ")
    assert dance.stderr.strip().endswith("got 'dance'")
    # a checkpoint that is not there says which, and where the list is
    fork = studio(env, "fork", tid, "--at", "zzz")
    assert fork.returncode == 1
    assert fork.stderr.strip() == (
        f"error: no checkpoint 'zzz' in thread {tid}; `studio history {tid}` lists them"
    )


def test_run_refuses_a_budget_that_is_not_a_number(env: dict[str, str]) -> None:
    for value in ("nan", "inf"):
        done = studio(env, "run", "a lighthouse", "--max-seconds", value)
        assert done.returncode == 2, done.stderr
        assert (
            done.stderr.strip() == f"error: --max-seconds: must be a number of seconds; got {value}"
        )
    over = studio(env, "run", "a lighthouse", "--max-iterations", "99999999999")
    assert over.returncode == 2  # as every other usage error (was 1, from inside the session)
    assert over.stderr.strip() == (
        "error: --max-iterations: Input should be less than or equal to 50; got 99999999999"
    )
    glued = studio(env, "run", "a lighthouse", "--deliverable", "hero7:3")
    assert glued.returncode == 2  # as "hero 7:3" is: no thread "hero7-3"
    assert glued.stderr.startswith("error: --deliverable: unknown aspect ratio 7:3")


def test_run_refuses_a_malformed_model_as_a_usage_error(env: dict[str, str]) -> None:
    for value in ("foo", "painter=llava", "critic="):
        done = studio(env, "run", "a lighthouse", "--model", value)
        assert done.returncode == 2, done.stderr  # as every other usage error (was 1)
        assert done.stderr.strip() == (
            "error: --model: expects ROLE=NAME with ROLE one of planner, style, composition, "
            f"story, director, critic, consistency, manager; got {value!r}"
        )
    assert studio(env, "threads", "--json").stdout.strip() == "[]"  # refused before a thread


def test_threads_marks_a_branch(env: dict[str, str]) -> None:
    """A branch keeps its source's title: `studio threads` listed the two as identical lines."""
    started = json.loads(studio(env, "run", "a lighthouse at dusk", "--json").stdout)
    forked = json.loads(studio(env, "fork", started["thread_id"], "--json").stdout)
    lines = {line.split()[0]: line for line in studio(env, "threads").stdout.splitlines() if line}
    assert lines[forked["thread_id"]].endswith("a lighthouse at dusk (branch)")
    assert lines[started["thread_id"]].endswith("a lighthouse at dusk")


def test_stop_on_a_thread_stopped_mid_run_keeps_it_stopped(env: dict[str, str]) -> None:
    """`studio resume T --action stop` on a thread already stopped between nodes (Ctrl-C, an
    earlier stop) ran it on to the end instead: the stop was taken for 'continue'."""
    tid = json.loads(studio(env, "run", "a lighthouse at dusk", "--json").stdout)["thread_id"]
    listed = json.loads(studio(env, "history", tid, "--json").stdout)
    earlier = next(c for c in listed if c["messages"] == 1)  # only the brief: mid-run
    back = json.loads(studio(env, "fork", tid, "--at", earlier["checkpoint_id"], "--json").stdout)
    assert back["status"] == "idle" and back["phase"] != "awaiting_plan_approval"
    stopped = studio(env, "resume", back["thread_id"], "--action", "stop", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["phase"] == back["phase"]  # not run on
    assert "it is stopped already" in stopped.stderr
    after = json.loads(studio(env, "history", back["thread_id"], "--json").stdout)
    assert after[0]["checkpoint_id"] == earlier["checkpoint_id"]  # no step was taken


def test_run_refuses_a_thread_id_the_api_refuses(env: dict[str, str]) -> None:
    """`--thread-id` took any string ("a b/../c"): a thread the page and the API cannot reach
    (their ids are checked), and `studio export` then wrote outside its folder."""
    for bad in ("a b/../c", "../x", "x" * 201, "-lead", "search"):  # search: an API path
        refused = studio(env, "run", "a lighthouse at dusk", "--thread-id", bad)
        assert refused.returncode == 2, (bad, refused.stderr)
        assert refused.stderr.startswith("error: --thread-id: "), refused.stderr
    assert studio(env, "threads", "--json").stdout.strip() == "[]"  # refused before a thread
    ok = studio(env, "run", "a lighthouse at dusk", "--thread-id", "my-thread.1", "--json")
    assert json.loads(ok.stdout)["thread_id"] == "my-thread.1"


def test_an_export_name_is_one_path_component() -> None:
    assert export_name("y", "a b/../c") == "creative-studio-y-a-b-..-c"
    assert "/" not in export_name("t", "../../x")
    assert export_name("Harbour Light", "1ee08e12-aaaa") == "creative-studio-harbour-light-1ee08e12"
