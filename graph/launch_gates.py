"""The launch kit's gates: the script gate, the selection gate and the A/B test's own gate.

`steer_launch` is the one node of the studio graph between the launch subgraph's legs: it takes
in the brief, pins whatever the person says as directions (`graph/directions.py`), asks at the
gate the kit has reached (`ask`, with the gate's `choices`, as in `graph/gates.py`) and sends the
next leg. The A/B test waits at its gate for as long as it runs: each observation batch, each
simulator poll and each timer tick is an answer (`observe`), so the test lives in the thread's
checkpoints, and its deadline, read from the context's clock, survives restarts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from adapters.launch import experiment, simulator
from adapters.launch.styles import STYLES, VARIANTS
from graph import directions
from graph.context import StudioContext
from graph.emit import emit, phase
from graph.gates import GateAnswer, _resuming, ask, choices, heard, record, stopped
from graph.launch import split_brief
from graph.launch_settings import MAX_FIGURES, chosen_script, parse_trends_csv
from graph.state import GATE_ACTIONS, StudioState, human_texts, valid_settings

MIN_TESTED = 2


async def steer_launch(state: StudioState, runtime: Runtime[StudioContext]) -> Command[Any]:
    """Start the kit, hear the person, ask at the kit's gate, or send the next leg."""
    launch = state.get("launch") or {}
    if not launch.get("stage"):
        return begin(state)
    new = human_texts(state)[state.get("humans_seen", 0) :]
    stage = str(launch["stage"])
    if any(t.strip() for t in new):
        return hear(state, "\n".join(new), stage)
    if stage == "script_gate":
        return script_gate(state)
    if stage == "selection_gate":
        return selection_gate(state)
    if stage == "experiment_gate":
        return experiment_gate(state, runtime.context)
    if stage == "done":
        return Command(goto=END)
    return Command(goto="launch")  # a leg is due (e.g. the process stopped before it ran)


def begin(state: StudioState) -> Command[Any]:
    """Take in the brief: the topic, the channel niche and audience, the person's data."""
    texts = human_texts(state)
    brief = " ".join(t.strip() for t in texts if t.strip())
    options = valid_settings(state.get("settings")).get("launch") or {}
    topic, rest = split_brief(brief)
    topic = options.get("topic") or topic
    figures = [dict(f) for f in options.get("figures") or []]
    known = {str(f["keyword"]).lower() for f in figures}
    if options.get("figures_csv"):  # checked when the settings came in
        figures += [
            dict(f)
            for f in parse_trends_csv(options["figures_csv"])
            if f["keyword"].lower() not in known
        ]
    launch = {
        "stage": "trends",
        "topic": topic,
        "niche": options.get("niche", ""),
        "audience": options.get("audience") or audience_in(topic),
        "keywords": list(options.get("keywords") or []),
        "figures": figures[:MAX_FIGURES],
        "tokens": {},
    }
    return Command(
        goto="launch",
        update={
            "brief": brief,
            "humans_seen": len(texts),
            "directions": directions.said(rest, source="brief") if rest else [],
            "launch": launch,
            **phase("researching", f"finding angles for {launch['topic']}"),
        },
    )


_FOR_WHOM = re.compile(
    r"\bfor\s+((?:total\s+|complete\s+|absolute\s+)?(?:beginners|newbies|"
    r"novices|kids|children|teens|students|parents|seniors|professionals|pros|experts|"
    r"[a-z]+\s+(?:beginners|lovers|fans|owners|enthusiasts)))\b",
    re.I,
)


def audience_in(topic: str) -> str:
    """The audience a topic names ("home espresso for beginners" -> "beginners"), else ""."""
    found = _FOR_WHOM.search(topic)
    return found.group(1).lower() if found else ""


def hear(state: StudioState, words: str, stage: str) -> Command[Any]:
    """New words from the person: pinned as directions; at the script gate they revise the
    scripts, at the selection gate they remake the thumbnails; later they are noted."""
    update: dict[str, Any] = {
        "humans_seen": len(human_texts(state)),
        "directions": directions.said(words, source="interjection"),
    }
    if stage == "script_gate":
        update["launch"] = {"feedback": [words], "stage": "scripts"}
        return Command(goto="launch", update={**update, **phase("scripting", "revising")})
    if stage == "selection_gate":
        update["launch"] = {"redo": list(VARIANTS), "stage": "thumbnails"}
        return Command(goto="launch", update={**update, **phase("designing", "remaking")})
    text = "Noted and pinned; the running A/B test is not changed by it."
    if stage not in ("experiment_gate",):
        text = "Noted and pinned for what the kit makes next."
    update["messages"] = [AIMessage(text, name="manager")]
    return Command(goto="steer_launch" if stage != "done" else END, update=update)


def _auto(state: StudioState) -> bool:
    return bool(valid_settings(state.get("settings")).get("auto_approve"))


def script_gate(state: StudioState) -> Command[Any]:
    """Approve a script (`deliverable`: its id; the first by default), revise with feedback,
    or stop."""
    launch = state["launch"]
    scripts = launch["scripts"]
    ids = [s["id"] for s in scripts]
    answer: GateAnswer | None = None
    if not _auto(state):
        answer = ask(
            {
                "gate": "script",
                "actions": list(GATE_ACTIONS["script"]),
                "message": "Approve a script (its id; the first by default), revise them with "
                "feedback, or stop.",
                "scripts": scripts,
                "trends": launch.get("trends") or {},
                "choices": choices(ids),
            }
        )
    if answer is not None and answer.action == "stop":
        return stopped("script", answer)
    if answer is not None and answer.action == "revise":
        note = answer.feedback + (f" (about {answer.deliverable})" if answer.deliverable else "")
        return Command(
            goto="launch",
            update={
                **record("script", answer),
                **heard(state, answer.feedback, "script_feedback"),
                "launch": {"feedback": [note], "stage": "scripts"},
                **phase("scripting", "revising the scripts"),
            },
        )
    chosen = (answer.deliverable if answer else None) or ids[0]
    title = next(s["title"] for s in scripts if s["id"] == chosen)
    return Command(
        goto="launch",
        update={
            **record("script", answer, auto=answer is None),
            "launch": {"chosen_script": chosen, "redo": list(VARIANTS), "stage": "thumbnails"},
            **phase("designing", f'thumbnails for "{title}"'),
        },
    )


def tested_variants(text: str, offered: list[str]) -> list[str]:
    """The variants an answer names ("face-focused, bold text"); all of them when it is empty.
    Raises ValueError naming what it does not know."""
    words = [w.strip().lower() for w in re.split(r"[,;\n]|\band\b", text) if w.strip()]
    if not words:
        return list(offered)
    picked = []
    for word in words:
        key = re.sub(r"[\s_]+", "-", word)
        found = [
            v
            for v in offered
            if v == key or v.startswith(key) or STYLES[v]["label"].lower() == word
        ]
        if len(found) != 1:
            raise ValueError(f"unknown variant {word!r}; choose from {', '.join(offered)}")
        if found[0] not in picked:
            picked.append(found[0])
    return picked


def selection_gate(state: StudioState) -> Command[Any]:
    """Choose the variants that enter the test (`answer`: their ids; all by default, at least
    two), regenerate with feedback (one variant or all), or stop."""
    launch = state["launch"]
    thumbs = launch["thumbnails"]
    offered = [t["variant"] for t in thumbs]
    answer: GateAnswer | None = None
    if not _auto(state):
        payload: dict[str, Any] = {
            "gate": "selection",
            "actions": list(GATE_ACTIONS["selection"]),
            "message": "Choose the thumbnails that enter the A/B test (at least two; all by "
            "default), regenerate with feedback, or stop.",
            "thumbnails": thumbs,
            "script": chosen_script(launch),
            "choices": choices(offered, {t["asset_id"]: t["variant"] for t in thumbs}),
        }
        if launch.get("error"):
            payload["error"] = launch["error"]
        answer = ask(payload)
    if answer is not None and answer.action == "stop":
        return stopped("selection", answer)
    if answer is not None and answer.action == "regenerate":
        targets = [answer.deliverable] if answer.deliverable else offered
        said = heard(state, answer.feedback, "thumbnail_feedback", answer.deliverable)
        return Command(
            goto="launch",
            update={
                **record("selection", answer),
                **(said if answer.feedback.strip() else {}),
                "launch": {"redo": targets, "stage": "thumbnails", "error": ""},
                **phase("designing", "remaking thumbnails"),
            },
        )
    try:
        tested = tested_variants(answer.answer if answer else "", offered)
        if len(tested) < MIN_TESTED:
            raise ValueError(f"an A/B test needs at least {MIN_TESTED} variants; got {len(tested)}")
    except ValueError as exc:  # asked again, saying why
        return Command(
            goto="steer_launch",
            update={**record("selection", answer), "launch": {"error": str(exc)}},
        )
    return Command(
        goto="launch",
        update={
            **record("selection", answer, auto=answer is None),
            "launch": {"tested": tested, "stage": "experiment", "error": ""},
            **phase("experimenting", f"testing {', '.join(tested)}"),
        },
    )


def _ended(test: dict[str, Any], now: Any, reason: str, winner: str | None) -> Command[Any]:
    ended = experiment.end(test, now, reason, winner)
    emit("experiment", **experiment.view(ended))
    return Command(goto="launch", update={"launch": {"experiment": ended, "stage": "results"}})


def observed_rows(answer: GateAnswer, test: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The rows an `observe` answer brings: posted figures (JSON in `answer`), else the
    simulator's next poll for a simulated test, else none (a timer tick)."""
    if answer.answer.strip():
        if test["simulated"]:
            raise ValueError("this test runs on simulated data; figures cannot be added to it")
        try:
            posted = json.loads(answer.answer)
        except ValueError as exc:
            raise ValueError('answer: expected {"rows": [...], "source": "..."}') from exc
        rows = posted.get("rows") if isinstance(posted, dict) else posted
        source = str(posted.get("source", "manual")) if isinstance(posted, dict) else "manual"
        return experiment.check_rows(rows, test["variants"]), source
    if test["simulated"]:
        seed = int(test["seed"])
        polls_seed = int(test.get("polls_seed", seed))  # a test opened before it had its own
        rows = simulator.poll(seed, test["variants"], int(test["polls"]), polls_seed)
        return rows, "simulated"
    return [], ""


def experiment_gate(state: StudioState, context: StudioContext) -> Command[Any]:
    """The running test: take observations (or a simulator poll), decide at 95%, accept a
    winner declared from 90%, stop at the deadline, or stop when asked."""
    launch = state["launch"]
    test = dict(launch["experiment"])
    now = context.clock()
    if test["status"] != "running":
        return Command(goto="launch", update={"launch": {"stage": "results"}})
    if experiment.expired(test, now):  # whatever arrives after the deadline ends the test
        return _ended(test, now, "timeout", None)
    shown = experiment.view(test, now)
    if not _resuming():
        emit("experiment", **shown)
    thumbs = [t for t in launch["thumbnails"] if t["variant"] in test["variants"]]
    answer = ask(
        {
            "gate": "experiment",
            "actions": list(GATE_ACTIONS["experiment"]),
            "message": "The A/B test is running: it ends by itself at 95% confidence or at its "
            "deadline. Declare the leader from 90%, or stop.",
            "experiment": shown,
            "thumbnails": thumbs,
            "script": chosen_script(launch),
            "error": test.get("error", ""),
            "choices": choices(test["variants"]),
        }
    )
    if answer.action == "stop":
        return _ended(test, now, "stopped", None)
    if answer.action == "declare":
        refused = experiment.refuse_declare(test, answer.deliverable)
        if refused:
            return Command(
                goto="steer_launch",
                update={
                    **record("experiment", answer),
                    "launch": {"experiment": {**test, "error": refused}},
                    "messages": [AIMessage(refused, name="manager")],
                },
            )
        return _ended(test, now, "declared", experiment.leader(test))
    try:
        rows, source = observed_rows(answer, test)
    except ValueError as exc:
        return Command(
            goto="steer_launch", update={"launch": {"experiment": {**test, "error": str(exc)}}}
        )
    if rows:
        test = experiment.observe(test, rows, source, now)
    if winner := experiment.auto_winner(test):
        return _ended(test, now, "winner", winner)
    return Command(goto="steer_launch", update={"launch": {"experiment": test}})
