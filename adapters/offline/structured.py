"""JSON answers for structured calls, chosen by the schema's title as Ollama's `format` carries it.

Known titles get real answers (planner, director, critic); any other schema gets a best-effort
object that fills every required property by its type, so a parser can still validate it.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.offline import critic, director, launch, planner, video
from adapters.offline.personas import speak
from adapters.offline.reading import Prompt
from adapters.offline.scene import direction_text, rng_for
from adapters.offline.talk import first_clause

TASK_TITLES = {
    "plan": "Plan",
    "specs": "SpecBatch",
    "review_plan": "PlanReview",
    "critique": "CritiqueVerdict",
    "launch_trends": "LaunchTrends",
    "launch_scripts": "ScriptBatch",
}
"""The schema a structured task implies when a call sends no `format` (the prompt asks for JSON)."""
VIDEO_ANSWERS = {
    "VideoScenes": video.scenes,
    "VideoShots": video.shots,
    "VideoLook": video.look,
    "VideoScript": video.script,
}
"""The video format's structured answers (adapters/offline/video.py), by schema title."""


def title_for(prompt: Prompt, schema: dict[str, Any] | str | None) -> str | None:
    """The schema title to answer: the `format`'s own, else the task's when it implies JSON."""
    if isinstance(schema, dict) and schema.get("title"):
        return str(schema["title"])
    return TASK_TITLES.get(prompt.task)


def answer(prompt: Prompt, schema: dict[str, Any] | str | None, seed: int) -> str:
    """The JSON text for a structured call."""
    title = title_for(prompt, schema)
    if title == "Plan":
        value = planner.plan(prompt.brief, direction_text(prompt))
    elif title == "SpecBatch":
        value = director.specs(prompt, seed)
    elif title == "PlanReview":
        value = critic.review(prompt)
    elif title == "CritiqueVerdict":
        value = critic.critique(prompt)
    elif title == "LaunchTrends":
        value = launch.trends(prompt, seed)
    elif title == "ScriptBatch":
        value = launch.scripts(prompt, seed)
    elif title in VIDEO_ANSWERS:
        value = VIDEO_ANSWERS[title](prompt)
    elif isinstance(schema, dict):
        prose = speak(prompt, rng_for(seed, prompt.role, prompt.task, prompt.task_text))
        value = fill(schema, schema, prose)
    else:
        value = {"answer": speak(prompt, rng_for(seed, prompt.role, prompt.task))}
    return json.dumps(value, ensure_ascii=False)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _resolve(dict(target), root) if isinstance(target, dict) else {}
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in node.get(key, []) if o.get("type") != "null"]
        if options:
            return _resolve(options[0], root)
    return node


def fill(node: dict[str, Any], root: dict[str, Any], prose: str, name: str = "") -> Any:
    """A value valid for a JSON-schema node: defaults first, then by type; text from `prose`."""
    node = _resolve(node, root)
    if "default" in node:
        return node["default"]
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    kind = node.get("type", "object" if "properties" in node else "string")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    if kind == "object":
        props = node.get("properties", {})
        return {k: fill(props.get(k, {}), root, prose, k) for k in node.get("required", [])}
    if kind == "array":
        count = int(node.get("minItems", 0))
        return [fill(node.get("items", {}), root, prose, name) for _ in range(count)]
    if kind in ("integer", "number"):
        low, high = node.get("minimum", 0), node.get("maximum", None)
        value = low if high is None else (low + high) / 2
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    return prose if name not in ("id", "name", "title") else first_clause(prose, 8)
