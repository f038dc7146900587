"""Rules of the studio graph: phases, clamping, consensus, determinism, events, Studio export."""

from __future__ import annotations

import hashlib
import importlib
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from PIL import Image

from adapters.errors import InvalidWorkflow, ServiceUnavailable
from adapters.images import MODEL_TRAITS, TemplateTraits
from adapters.llm import RoleModels
from adapters.offline.model import OfflineChatModel
from adapters.renderer import Renderer
from agents.critic import as_sentence
from agents.moderator import ideas
from engine.events import STREAM_MODES, to_events
from graph.state import advance_phase
from tests.studio_helpers import (
    NEON,
    config,
    fresh_graph,
    make_context,
    pending_gate,
    resume,
    run,
    start,
)

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parent.parent


class WildDirector(OfflineChatModel):
    """Proposes specs far outside the safe bounds (as a careless LLM might)."""

    def respond(self, messages: Sequence[BaseMessage], schema: Any = None) -> str:
        answer = super().respond(messages, schema)
        if not (isinstance(schema, dict) and schema.get("title") == "SpecBatch"):
            return answer
        batch = json.loads(answer)
        for spec in batch["specs"]:
            spec.update(
                width=9999,
                height=17,
                steps=500,
                cfg=-4,
                seed=-12,
                negative_prompt="",
                sampler="turbo-magic",
                palette=["nope", "#ABCDEF"],
            )
        return json.dumps(batch)


OBJECTIONS = (
    "lantern granite saffron",
    "cobalt meadow thunder",
    "violet harbour ember",
    "quartz willow cinder",
    "amber glacier tundra",
    "orchid basalt monsoon",
)
"""Fresh words for each objection, so no turn repeats the last one (deterministic, unlike a
random suffix, whose letters could count as ideas or not from one run to the next)."""


class Quarrelsome(OfflineChatModel):
    """Specialists who never agree: every turn pushes back on the others with a new point."""

    def respond(self, messages: Sequence[BaseMessage], schema: Any = None) -> str:
        answer = super().respond(messages, schema)
        if schema is None and "Task (refine)" in str(messages[-1].content):
            said = str(messages[-1].content).count("I disagree with the others")
            extra = OBJECTIONS[said % len(OBJECTIONS)]
            return answer + f" I disagree with the others: {extra}."
        return answer


def roles_with(special: BaseChatModel, *roles: str) -> RoleModels:
    normal = OfflineChatModel(seed=7)
    return RoleModels(
        lambda name: special if name == "special" else normal,
        {"default": "offline", **{r: "special" for r in roles}},
        label="test",
    )


def test_phase_moves_forward_except_the_loops() -> None:
    assert advance_phase("ideation", "refinement") == "refinement"
    assert advance_phase("awaiting_approval", "iterating") == "iterating"
    assert advance_phase("iterating", "generating") == "generating"
    assert advance_phase("review", "synthesis") == "synthesis"
    assert advance_phase("refinement", "interrupted") == "interrupted"  # stop from anywhere
    with pytest.raises(ValueError, match="cannot move back"):
        advance_phase("generating", "ideation")


class SamplingRenderer(Renderer):
    """The renderer posing as a model behind a sampler, so specs keep their sampler settings."""

    def traits(self, template: str) -> TemplateTraits:
        return MODEL_TRAITS


async def test_out_of_bounds_specs_are_clamped(database, tmp_path) -> None:
    context = make_context(
        database.pool,
        tmp_path,
        models=roles_with(WildDirector(), "director"),
        renderer=SamplingRenderer(),
    )
    graph, tid = fresh_graph(database.saver), str(uuid.uuid4())
    await run(graph, start(NEON), tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["specs"]
    for spec in gate["specs"]:
        assert spec["width"] % 8 == 0 and spec["height"] % 8 == 0
        assert 256 <= spec["width"] <= 2048 and 256 <= spec["height"] <= 2048
        assert spec["width"] * spec["height"] <= 1536 * 1536
        assert spec["steps"] == 80 and spec["cfg"] == 1.0 and 0 <= spec["seed"] < 2**32
        assert spec["negative_prompt"] and spec["sampler"] == "dpmpp_2m"
        assert spec["palette"] == ["#abcdef"]
    assert any("steps 500 -> 80" in note for note in gate["notes"])
    state = await resume(graph, {"action": "approve"}, tid, context)
    assert state.get("generations")  # the clamped specs really render


async def test_no_consensus_at_the_cap_asks_the_person(database, tmp_path) -> None:
    context = make_context(
        database.pool,
        tmp_path,
        models=roles_with(Quarrelsome(seed=7), "style", "composition", "story"),
    )
    graph, tid = fresh_graph(database.saver), str(uuid.uuid4())
    await run(graph, start(NEON), tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "consensus" and "disagrees" in gate["question"]
    await resume(
        graph, {"action": "answer", "answer": "go with Luna: foggy and quiet"}, tid, context
    )
    state = (await graph.aget_state(config(tid))).values
    assert "go with Luna: foggy and quiet" in [d["text"] for d in state["directions"]]
    assert all(s["weather"] == "fog" for s in state["specs"].values())


async def test_same_seed_same_session(database, tmp_path) -> None:
    graph = fresh_graph(database.saver)
    digests = []
    for n in range(2):
        context = make_context(database.pool, tmp_path / str(n))
        state = await run(graph, start(NEON, auto_approve=True), str(uuid.uuid4()), context)
        texts = [str(m.content) for m in state["messages"] if m.type == "ai"][:-1]  # ids differ
        images = [
            hashlib.sha256(Image.open(g["path"]).tobytes()).hexdigest()  # pixels only:
            for g in state["generations"]
        ]  # the embedded recipe names the thread
        digests.append((texts, state["specs"], images))
    assert digests[0] == digests[1]
    other = make_context(database.pool, tmp_path / "other", seed=8)
    changed = await run(graph, start(NEON, auto_approve=True), str(uuid.uuid4()), other)
    assert [str(m.content) for m in changed["messages"] if m.type == "ai"] != digests[0][0]
    # another thread with another brief (same model seed) never reuses a deliverable's seed
    lantern = "lantern market at dusk, red and gold lanterns"
    context = make_context(database.pool, tmp_path / "lantern")
    other_brief = await run(graph, start(lantern, auto_approve=True), str(uuid.uuid4()), context)
    seeds = {d: s["seed"] for d, s in digests[0][1].items()}
    shared = set(seeds) & set(other_brief["specs"])
    assert shared and all(other_brief["specs"][d]["seed"] != seeds[d] for d in shared)
    assert len(set(seeds.values())) == len(seeds)  # and deliverables differ within a thread


async def test_stream_carries_tokens_phases_progress_assets_and_gates(database, tmp_path) -> None:
    context = make_context(database.pool, tmp_path)
    graph, tid = fresh_graph(database.saver), str(uuid.uuid4())
    events = []
    async for part in graph.astream(
        start(NEON, budgets={"max_iterations": 1}),
        config(tid),
        context=context,
        stream_mode=STREAM_MODES,
        version="v2",
    ):
        events += to_events(part)
    kinds = {e.kind for e in events}
    assert {"token", "message", "phase", "gate"} <= kinds
    assert {e.data["role"] for e in events if e.kind == "token"} >= {
        "style",
        "composition",
        "story",
    }
    assert [e.data["gate"] for e in events if e.kind == "gate"] == ["plan"]
    events = []
    async for part in graph.astream(
        resume_command("approve"),
        config(tid),
        context=context,
        stream_mode=STREAM_MODES,
        version="v2",
    ):
        events += to_events(part)
    fractions = [e.data["fraction"] for e in events if e.kind == "progress"]
    assert fractions and max(fractions) == 1.0
    assert len([e for e in events if e.kind == "asset"]) == 3
    assert [e.data["gate"] for e in events if e.kind == "gate"] == ["output"]


async def test_words_typed_at_a_gate_stream_as_the_persons(database, tmp_path) -> None:
    """They streamed as the gate node's ("approve_plan (approve_plan) warmer orange glow") in
    the CLI's live view; they are the person's, as the chat shows them."""
    from langgraph.types import Command

    context = make_context(database.pool, tmp_path)
    graph, tid = fresh_graph(database.saver), str(uuid.uuid4())
    await run(graph, start(NEON, budgets={"max_iterations": 1}), tid, context)
    events = []
    async for part in graph.astream(
        Command(resume={"action": "revise", "feedback": "warmer orange glow"}),
        config(tid),
        context=context,
        stream_mode=STREAM_MODES,
        version="v2",
    ):
        events += to_events(part)
    spoken = [e.data for e in events if e.kind in ("token", "message")]
    assert {"role": "person", "text": "warmer orange glow"} in [
        {"role": d["role"], "text": d["text"]} for d in spoken
    ]
    assert not [d for d in spoken if d["role"] == "approve_plan"]


def resume_command(action: str) -> Any:
    from langgraph.types import Command

    return Command(resume={"action": action})


def test_langgraph_json_names_a_loadable_graph_factory() -> None:
    spec = json.loads((ROOT / "langgraph.json").read_text())
    path, _, attribute = spec["graphs"]["studio"].partition(":")
    module = importlib.import_module(path.removeprefix("./").removesuffix(".py").replace("/", "."))
    graph = getattr(module, attribute)()
    assert graph.name == "studio" and graph.checkpointer is None  # dev refuses a checkpointer
    nodes = set(graph.get_graph().nodes)
    assert {
        "intake",
        "plan",
        "style",
        "composition",
        "story",
        "moderate",
        "direct",
        "review",
        "approve_plan",
        "generate",
        "critique",
        "check_consistency",
        "manage",
        "approve_outputs",
        "finalize",
        "ask_clarification",
        "ask_consensus",
        "interject",
    } <= nodes


async def auto_session(graph: Any, context: Any) -> tuple[list[Any], dict[str, Any]]:
    """Run an auto-approved session to its end: the studio events and the final state."""
    tid, events = str(uuid.uuid4()), []
    async for part in graph.astream(
        start(NEON, auto_approve=True),
        config(tid),
        context=context,
        stream_mode=STREAM_MODES,
        version="v2",
    ):
        events += to_events(part)
    return events, (await graph.aget_state(config(tid))).values


class BrokenServer(Renderer):
    """An image server that rejects every job for `broken` deliverables (or all of them)."""

    def __init__(self, broken: set[str] | None = None) -> None:
        super().__init__()
        self.broken = broken

    async def generate(self, spec: Any, *, job_id: str, on_progress: Any) -> Any:
        if self.broken is None or spec.deliverable in self.broken:
            raise InvalidWorkflow("node 4 (CheckpointLoaderSimple): ckpt_name not installed")
        return await super().generate(spec, job_id=job_id, on_progress=on_progress)


async def test_when_nothing_can_be_generated_the_session_fails_and_says_why(
    database, tmp_path
) -> None:
    graph = fresh_graph(database.saver)
    context = make_context(database.pool, tmp_path / "a", renderer=BrokenServer())
    events, state = await auto_session(graph, context)
    assert state["phase"] == "failed"
    assert state["stop_reason"] == "generation_failed"
    assert len(state["failures"]) == len(state["plan"]["deliverables"])
    assert not state.get("generations")
    assert "ckpt_name not installed" in state["messages"][-2].content
    errors = [e for e in events if e.kind == "notice" and e.data.get("code") == "invalid_workflow"]
    assert len(errors) == len(state["failures"])


async def test_one_failed_deliverable_does_not_stop_the_others(database, tmp_path) -> None:
    graph = fresh_graph(database.saver)
    context = make_context(database.pool, tmp_path / "a", renderer=BrokenServer({"hero-b"}))
    tid = str(uuid.uuid4())
    await run(graph, start(NEON), tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "plan"
    await resume(graph, {"action": "approve"}, tid, context)
    state = (await graph.aget_state(config(tid))).values
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "output"
    made = {g["deliverable"] for g in state["generations"]}
    assert "hero-b" not in made and made
    assert [f["deliverable"] for f in state["failures"]] == ["hero-b"]
    assert [f["code"] for f in gate["failures"]] == ["invalid_workflow"]
    assert "hero-b failed" in " ".join(m.content for m in state["messages"] if m.name == "manager")


class ServerAway(Renderer):
    """An image server that is unreachable for its first `down` calls."""

    def __init__(self, down: int) -> None:
        super().__init__()
        self.down = down

    async def generate(self, spec: Any, *, job_id: str, on_progress: Any) -> Any:
        if self.down > 0:
            self.down -= 1
            raise ServiceUnavailable("Cannot reach ComfyUI at http://gpu:8188 (ConnectError).")
        return await super().generate(spec, job_id=job_id, on_progress=on_progress)


async def test_generation_waits_queued_while_the_image_server_is_away(database, tmp_path) -> None:
    graph = fresh_graph(database.saver)
    context = make_context(database.pool, tmp_path / "a", renderer=ServerAway(down=1))
    events, state = await auto_session(graph, context)
    assert state["phase"] == "approved"
    assert len(state["generations"]) == len(state["plan"]["deliverables"])
    codes = [e.data.get("code") for e in events if e.kind == "notice"]
    assert codes.count("generation_queued") == 1
    assert codes.count("generation_resumed") == 1
    queued = next(e for e in events if e.data.get("code") == "generation_queued")
    assert "Cannot reach ComfyUI" in queued.data["text"]


async def test_a_server_away_too_long_stops_the_run_resumably(database, tmp_path) -> None:
    graph = fresh_graph(database.saver)
    away = ServerAway(down=1)
    context = make_context(database.pool, tmp_path / "a", renderer=away, generator_wait_s=0.0)
    tid = str(uuid.uuid4())
    with pytest.raises(ServiceUnavailable):
        await run(graph, start(NEON, auto_approve=True), tid, context)
    assert (await graph.aget_state(config(tid))).values["phase"] == "generating"
    await run(graph, None, tid, context)  # the server is back: resume finishes the session
    assert (await graph.aget_state(config(tid))).values["phase"] == "approved"


class TemplateHopper(OfflineChatModel):
    """Proposes a template the image server cannot run (and keeps the prompts it was sent)."""

    seen: ClassVar[list[str]] = []

    def respond(self, messages: Sequence[BaseMessage], schema: Any = None) -> str:
        answer = super().respond(messages, schema)
        if not (isinstance(schema, dict) and schema.get("title") == "SpecBatch"):
            return answer
        self.seen.append(str(messages[-1].content))
        batch = json.loads(answer)
        for spec in batch["specs"]:
            spec["template"] = "blend"
        return json.dumps(batch)


async def test_specs_only_name_templates_the_generator_can_run(database, tmp_path) -> None:
    models = roles_with(TemplateHopper(), "director")
    context = make_context(database.pool, tmp_path, models=models)
    graph, tid = fresh_graph(database.saver), str(uuid.uuid4())
    await run(graph, start(NEON), tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None
    assert {spec["template"] for spec in gate["specs"]} == {"txt2img"}
    assert any("template blend cannot run here -> txt2img" in note for note in gate["notes"])
    offered = [m for m in TemplateHopper.seen if "Templates the image server can run" in m]
    assert offered and "txt2img" in offered[-1]


@pytest.mark.parametrize(
    ("reasons", "said"),
    [
        ("every spec keeps neon light", "Every spec keeps neon light."),
        ("Sizes fit their formats!", "Sizes fit their formats!"),
        ("  ", ""),
    ],
)
def test_lens_reasons_read_as_a_sentence(reasons: str, said: str) -> None:
    assert as_sentence(reasons) == said


def test_the_manager_counts_ideas_in_words() -> None:
    assert [ideas(n) for n in (0, 1, 2)] == ["0 new ideas", "1 new idea", "2 new ideas"]
