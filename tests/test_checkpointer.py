"""StudioSaver: message lists stored as deltas read back exactly as the stock saver's, lock-free."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from bench.checkpoints import chat_graph, growth, thread_bytes, turn
from engine.store import RunStore
from store.checkpointer import StudioSaver
from tests.studio_helpers import NEON, fresh_graph, make_context, run, start

pytestmark = pytest.mark.anyio
SERDE = JsonPlusSerializer()


def cfg(thread_id: str, **metadata: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}, "metadata": metadata}


async def converse(graph: Any, thread_id: str) -> None:
    """Turns, a system note, a tool exchange, an edited message and a removed one."""
    for n in range(3):
        await turn(graph, thread_id, n)
    config = cfg(thread_id)
    await graph.aupdate_state(config, {"messages": [SystemMessage("house style", id="sys")]})
    call = {"name": "render", "args": {"seed": 7}, "id": "call-1", "type": "tool_call"}
    tool_turn = [
        AIMessage("", name="director", id="ai-tool", tool_calls=[call]),
        ToolMessage("rendered", tool_call_id="call-1", id="tool-1", artifact={"asset": "a1"}),
    ]
    await graph.aupdate_state(config, {"messages": tool_turn})
    edited = AIMessage("Turn 1, revised", name="style", id="ai-1", response_metadata={"r": 2})
    await graph.aupdate_state(config, {"messages": [edited]})
    await graph.aupdate_state(config, {"messages": [RemoveMessage(id="user-0")]})
    await turn(graph, thread_id, 3)
    # time travel: fork from the step that had four messages, then go on from the fork
    async for past in graph.aget_state_history(config):
        if len(past.values.get("messages", [])) == 4:
            await graph.aupdate_state(past.config, {"messages": [HumanMessage("fork", id="f")]})
            break
    await turn(graph, thread_id, 4)


def dumped(messages: list[Any]) -> list[tuple[type, tuple[str, bytes]]]:
    return [(type(m), SERDE.dumps_typed(m)) for m in messages]


async def history(graph: Any, thread_id: str) -> list[list[tuple[type, tuple[str, bytes]]]]:
    return [
        dumped(s.values.get("messages", [])) async for s in graph.aget_state_history(cfg(thread_id))
    ]


async def test_state_round_trips_exactly_as_the_stock_saver(database) -> None:
    stock, ours = chat_graph(AsyncPostgresSaver(database.pool)), chat_graph(database.saver)
    await converse(stock, "stock")
    await converse(ours, "ours")
    expected = (await stock.aget_state(cfg("stock"))).values["messages"]
    got = (await chat_graph(StudioSaver(database.pool)).aget_state(cfg("ours"))).values
    assert dumped(got["messages"]) == dumped(expected)
    assert SERDE.dumps_typed(got["messages"]) == SERDE.dumps_typed(expected)  # the very blob
    assert [m.id for m in got["messages"]][-3:] == ["f", "user-4", "ai-6"]
    assert got["messages"][-1].usage_metadata == expected[-1].usage_metadata


async def test_history_shows_the_messages_of_each_checkpoint(database) -> None:
    stock, ours = chat_graph(AsyncPostgresSaver(database.pool)), chat_graph(database.saver)
    await converse(stock, "stock")
    await converse(ours, "ours")
    expected = await history(stock, "stock")
    got = await history(chat_graph(StudioSaver(database.pool)), "ours")
    assert len(got) == len(expected) > 10
    assert got == expected  # the edited and removed messages are as they were, step by step
    before_edit = [dict(d)["ai-1"] for d in _by_id(ours, got) if "ai-1" in dict(d)]
    assert {b"Turn 1, revised" in blob for _, blob in before_edit} == {True, False}


def _by_id(graph: Any, states: list[list[tuple[type, tuple[str, bytes]]]]) -> list[Any]:
    return [[(SERDE.loads_typed(d).id, d) for _, d in messages] for messages in states if messages]


async def test_message_ids_are_stable_across_reads(database) -> None:
    graph = chat_graph(database.saver)
    await graph.ainvoke({"messages": [HumanMessage("no id given")]}, cfg("t"))
    first = (await graph.aget_state(cfg("t"))).values["messages"]
    again = (await chat_graph(StudioSaver(database.pool)).aget_state(cfg("t"))).values["messages"]
    assert first[0].id and [m.id for m in again] == [m.id for m in first]


async def test_fresh_saver_resumes_a_studio_session_mid_run(database, tmp_path: Path) -> None:
    context, tid = make_context(database.pool, tmp_path / "assets"), str(uuid.uuid4())
    first = fresh_graph(database.saver)
    paused = await run(
        first, start(NEON, auto_approve=True), tid, context, interrupt_before=["story"]
    )
    # a new process: a fresh saver and graph on the same database
    second = fresh_graph(StudioSaver(database.pool))
    await run(second, None, tid, context, interrupt_before=["critique"])
    state = await run(fresh_graph(StudioSaver(database.pool)), None, tid, context)
    assert state["phase"] == "approved"
    ids = [m.id for m in state["messages"]]
    assert ids[: len(paused["messages"])] == [m.id for m in paused["messages"]]
    assert len(ids) == len(set(ids))
    reread = (await fresh_graph(StudioSaver(database.pool)).aget_state(cfg(tid))).values
    assert dumped(reread["messages"]) == dumped(state["messages"])
    assert reread == state and len(state["contributions"]) > 3  # contributions: a delta list


async def test_storage_per_step_stays_flat_as_the_thread_grows(database) -> None:
    figures = await growth(database.pool, database.saver, turns=100)
    assert figures["step_n"] <= 1.5 * figures["step_10"]
    assert figures["total"] <= 1_000_000


async def test_a_thread_written_by_the_stock_saver_continues(database) -> None:
    stock = chat_graph(AsyncPostgresSaver(database.pool))
    for thread_id in ("stock", "mixed"):
        await converse(stock, thread_id)
    await turn(stock, "stock", 9)
    await turn(chat_graph(database.saver), "mixed", 9)  # an upgraded server goes on
    ours = chat_graph(StudioSaver(database.pool))
    assert await history(ours, "mixed") == await history(stock, "stock")


async def test_rolling_back_a_run_keeps_the_thread_readable(database) -> None:
    graph = chat_graph(database.saver)
    await graph.ainvoke({"messages": [HumanMessage("one", id="u1")]}, cfg("t", run_id="r1"))
    kept = dumped((await graph.aget_state(cfg("t"))).values["messages"])
    await graph.ainvoke({"messages": [HumanMessage("two", id="u2")]}, cfg("t", run_id="r2"))
    await RunStore(database.pool).rollback_checkpoints("t", "r2")
    fresh = chat_graph(StudioSaver(database.pool))
    assert dumped((await fresh.aget_state(cfg("t"))).values["messages"]) == kept
    await fresh.ainvoke({"messages": [HumanMessage("three", id="u3")]}, cfg("t", run_id="r3"))
    messages = (await graph.aget_state(cfg("t"))).values["messages"]
    assert [m.id for m in messages] == ["u1", "ai-1", "u3", "ai-3"]


async def test_a_thread_deleted_elsewhere_is_written_whole_again(database, caplog) -> None:
    caplog.set_level(logging.INFO, "studio.checkpointer")
    graph = chat_graph(database.saver)
    for n in range(2):
        await turn(graph, "t", n)
    await StudioSaver(database.pool).adelete_thread("t")  # another process
    for n in range(2):  # the same messages again: the saver's remembered list no longer exists
        await turn(graph, "t", n)
    messages = (await chat_graph(StudioSaver(database.pool)).aget_state(cfg("t"))).values
    assert [m.id for m in messages["messages"]] == ["user-0", "ai-1", "user-1", "ai-3"]
    assert "lost its stored lists" in caplog.text


async def test_delete_thread_removes_its_lists_only(database) -> None:
    graph = chat_graph(database.saver)
    await turn(graph, "gone", 0)
    await turn(graph, "kept", 0)
    await database.saver.adelete_thread("gone")
    assert await thread_bytes(database.pool, "gone") == (0, 0)
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM checkpoint_lists WHERE thread_id = 'kept'"
        )
        assert (await cur.fetchone())["n"] > 0
    assert len((await graph.aget_state(cfg("kept"))).values["messages"]) == 2


async def test_pooled_saver_serves_calls_while_another_holds_a_connection(database) -> None:
    saver = database.saver
    await turn(chat_graph(saver), "t", 0)
    async with saver._cursor() as cur:  # a call in progress, e.g. a slow history listing
        await cur.execute("SELECT 1")
        found = await asyncio.wait_for(saver.aget_tuple(cfg("t")), timeout=30)
    assert found is not None and len(found.checkpoint["channel_values"]["messages"]) == 2


async def test_concurrent_puts_on_a_pool_all_persist(database) -> None:
    saver = database.saver

    async def put(thread_id: str) -> None:
        checkpoint = empty_checkpoint()
        version = saver.get_next_version(None, None)
        checkpoint["channel_values"] = {"messages": [HumanMessage(thread_id, id=thread_id)]}
        checkpoint["channel_versions"] = {"messages": version}
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        await saver.aput(config, checkpoint, {"source": "input", "step": -1}, {"messages": version})

    threads = [f"t{i}" for i in range(60)]
    await asyncio.gather(*(put(t) for t in threads))
    fresh = StudioSaver(database.pool)
    for thread_id in threads:
        found = await fresh.aget_tuple(cfg(thread_id))
        assert found is not None
        assert [m.content for m in found.checkpoint["channel_values"]["messages"]] == [thread_id]


@pytest.mark.parametrize("pipeline", [False, True])
async def test_a_single_connection_saver_stores_deltas_too(database, pipeline: bool) -> None:
    async with StudioSaver.from_conn_string(database.url, pipeline=pipeline) as saver:
        graph = chat_graph(saver)
        for n in range(3):
            await turn(graph, "t", n)
        messages = (await graph.aget_state(cfg("t"))).values["messages"]
    assert [m.id for m in messages] == ["user-0", "ai-1", "user-1", "ai-3", "user-2", "ai-5"]
    reread = (await chat_graph(database.saver).aget_state(cfg("t"))).values["messages"]
    assert dumped(reread) == dumped(messages)


async def test_pruning_keeps_the_latest_state_whole(database) -> None:
    graph = chat_graph(database.saver)
    for thread_id in ("kept", "gone"):
        for n in range(3):
            await turn(graph, thread_id, n)
    expected = dumped((await graph.aget_state(cfg("kept"))).values["messages"])
    await database.saver.aprune(["kept"], strategy="keep_latest")
    assert len(await history(graph, "kept")) == 1
    fresh = chat_graph(StudioSaver(database.pool))
    assert dumped((await fresh.aget_state(cfg("kept"))).values["messages"]) == expected
    await database.saver.aprune(["gone"], strategy="delete")
    assert await thread_bytes(database.pool, "gone") == (0, 0)


def asking_graph(saver: Any) -> Any:
    """Two gates in one step beside a node that does not ask, then a node that asks twice."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    class State(TypedDict, total=False):
        a: str
        b: str
        twice: list[str]

    def ask(name: str) -> Any:
        def node(state: State) -> dict[str, Any]:
            return {name: interrupt({"gate": name})}

        return node

    def twice(state: State) -> State:
        return {"twice": [interrupt({"gate": "first"}), interrupt({"gate": "second"})]}

    builder = StateGraph(State)
    builder.add_node("a", ask("a"))
    builder.add_node("b", ask("b"))
    builder.add_node("plain", lambda state: {})
    builder.add_node("twice", twice)
    for node in ("a", "b", "plain"):
        builder.add_edge(START, node)
        builder.add_edge(node, "twice")
    builder.add_edge("twice", END)
    return builder.compile(checkpointer=saver)


async def test_pending_interrupts_are_what_the_state_snapshot_lists(database) -> None:
    """`apending_interrupts` (read from the pending writes alone) lists what `aget_state`
    does, at every stage: none, two gates in one step, one of them answered, a task that
    asked again after its first answer, and the end."""
    from langgraph.types import Command

    graph = asking_graph(database.saver)
    config = cfg("asking")

    async def both() -> tuple[list[Any], list[Any]]:
        snapshot = await graph.aget_state(config)
        mine = await database.saver.apending_interrupts("asking")
        as_pairs = sorted((i.value["gate"], i.id) for i in snapshot.interrupts)
        return as_pairs, sorted((i.value["gate"], i.id) for i in mine)

    assert await database.saver.apending_interrupts("asking") == []  # no checkpoint yet
    await graph.ainvoke({}, config)
    expected, got = await both()
    assert [gate for gate, _ in expected] == ["a", "b"] and got == expected
    await graph.ainvoke(Command(resume={expected[0][1]: "yes to a"}), config)
    expected, got = await both()
    assert [gate for gate, _ in expected] == ["b"] and got == expected
    await graph.ainvoke(Command(resume="yes to b"), config)
    expected, got = await both()
    assert [gate for gate, _ in expected] == ["first"] and got == expected
    await graph.ainvoke(Command(resume="one"), config)
    expected, got = await both()
    assert [gate for gate, _ in expected] == ["second"] and got == expected
    await graph.ainvoke(Command(resume="two"), config)
    expected, got = await both()
    assert expected == [] and got == []
    final = (await graph.aget_state(config)).values
    assert final == {"a": "yes to a", "b": "yes to b", "twice": ["one", "two"]}


@pytest.mark.parametrize("count", [2, 20])
async def test_writes_are_stored_as_the_stock_saver_stores_them(
    database, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    """A node's few writes are serialized without a thread hop (#20 point 7), many in one;
    either way the rows read back as the stock saver's do, special channels included."""
    hops: list[Any] = []
    real_to_thread = asyncio.to_thread

    async def counted(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real_to_thread(func, *args, **kwargs)

    writes = [(f"channel_{i}", {"n": i, "text": "x" * i}) for i in range(count - 1)]
    writes.append(("__interrupt__", ["asked"]))  # a special channel keeps its fixed index
    stored: dict[str, list[Any]] = {}
    for name, saver in (("stock", AsyncPostgresSaver(database.pool)), ("studio", None)):
        saver = saver or StudioSaver(database.pool)
        checkpoint = empty_checkpoint()
        config = {"configurable": {"thread_id": f"w-{name}", "checkpoint_ns": ""}}
        saved = await saver.aput(config, checkpoint, {"source": "input", "step": -1}, {})
        monkeypatch.setattr(asyncio, "to_thread", counted)
        await saver.aput_writes(saved, writes[:-1], "task-1", "path")
        await saver.aput_writes(saved, writes[-1:], "task-2")
        monkeypatch.setattr(asyncio, "to_thread", real_to_thread)
        if name == "studio":
            assert len(hops) == (0 if count <= 8 else 1)
        hops.clear()
        found = await StudioSaver(database.pool).aget_tuple(saved)
        assert found is not None
        stored[name] = sorted(found.pending_writes or [], key=repr)
    assert stored["studio"] == stored["stock"]
    assert len(stored["studio"]) == count
