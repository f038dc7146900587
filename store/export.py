"""Take the work home: a thread's images named by deliverable, each with its spec and recipe,
the brief, the person's directions and the discussion, as `(name, bytes)` files. One package
serves `GET /threads/{id}/export` (a zip) and `studio export` (a folder)."""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import BaseMessage

from adapters.assets import AssetRecord
from agents.launch.results import export_files, export_readme
from graph.state import PERSONAS, TERMINAL_PHASES, StudioState
from graph.variants import current_of
from store.video_export import video_files

if TYPE_CHECKING:
    from engine.studio import Studio

RECIPE_NOTE = "The PNGs carry their recipe as metadata too (PNG text chunk `studio:recipe`)."
VIDEO_NOTE = (
    "The video is in `video/`: `final.mp4` (the final cut, H.264 + AAC), `script.md` and "
    "`script.json` (each line with its start and end), `captions.vtt` (WebVTT), and "
    "`stages/` with each stage's current version (its JSON, the keyframe PNGs and clips named "
    "by scene, the voice track)."
)


def current_set(values: Mapping[str, Any]) -> dict[str, str]:
    """Asset id per deliverable of the set a person sees and approves (`graph.variants`)."""
    return current_of(cast(StudioState, values))


def is_approved(values: Mapping[str, Any]) -> bool:
    return values.get("outcome") == "approved" and values.get("phase") in TERMINAL_PHASES


def file_stem(deliverable: str) -> str:
    """A deliverable id as a safe file name (`hero-a`; never a path)."""
    stem = re.sub(r"[^a-z0-9._-]+", "-", deliverable.lower()).strip(".-")
    return stem or "image"


def export_name(title: str, thread_id: str) -> str:
    """`creative-studio-<short title>-<8-char id>`: the zip's and the folder's name."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words: list[str] = []
    for word in re.findall(r"[a-z0-9]+", plain):
        if len("-".join([*words, word])) > 40:
            break
        words.append(word)
    short = "-".join(words) or re.sub(r"[^a-z0-9]", "", plain)[:40]
    # one path component whatever the id holds (a CLI thread could be named "a b/../c")
    tag = re.sub(r"[^A-Za-z0-9._-]", "-", thread_id[:8])
    return "-".join(filter(None, ["creative-studio", short, tag]))


def is_sketch(record: AssetRecord) -> bool:
    """Drawn without an image model (the built-in renderer, a model-free ComfyUI template)."""
    return bool(record.recipe.get("sketch") or record.spec.get("sketch")) or (
        record.generator == "renderer"
    )


def directions(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the person directed, oldest first, each with its scope (`*`: the whole set)."""
    if values.get("directions"):
        return [dict(d) for d in values["directions"]]
    legacy = [{"text": t, "scope": "*", "source": "person"} for t in values.get("direction", [])]
    for deliverable, text in (values.get("focus") or {}).items():
        legacy.append({"text": text, "scope": deliverable, "source": "person"})
    return legacy


def _speaker(message: BaseMessage) -> str:
    if message.type == "human":
        return "You"
    return PERSONAS.get(message.name or "", message.name or "Studio")


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content]
    return "".join(parts)


@dataclass(frozen=True)
class Image:
    deliverable: str
    stem: str
    record: AssetRecord
    critique: Mapping[str, Any] | None


@dataclass(frozen=True)
class Package:
    """Everything a thread's export holds; `files()` reads the images from disk (blocking)."""

    thread_id: str
    title: str
    values: Mapping[str, Any]
    images: list[Image]
    exported_at: datetime
    records: tuple[AssetRecord, ...] = ()
    """Every asset of the thread (a video's stages name theirs by id)."""

    @property
    def name(self) -> str:
        return export_name(self.title, self.thread_id)

    @property
    def approved(self) -> bool:
        return is_approved(self.values)

    def status_line(self) -> str:
        if (self.values.get("launch") or {}).get("scripts"):
            return "The launch kit: its scripts, thumbnails and A/B test results (in `launch/`)."
        if self.approved:
            return "Approved set: these are the images you approved."
        phase = str(self.values.get("phase") or "created").replace("_", " ")
        if self.values.get("phase") in TERMINAL_PHASES:
            why = str(self.values.get("stop_reason") or phase).replace("_", " ")
            return (
                f"Not approved (the session ended: {why}): these are the current variants "
                "of each deliverable."
            )
        return (
            f"Not finished yet (phase: {phase}): these are the current variants of each "
            "deliverable, not an approved set."
        )

    def files(self) -> Iterator[tuple[str, bytes]]:
        """The package's files, in the order a person reads them."""
        yield "README.md", self.readme().encode()
        yield "manifest.json", _json(self.manifest())
        for image in self.images:
            yield f"{image.stem}.png", image.record.path.read_bytes()  # recipe metadata kept
            yield f"{image.stem}.json", _json(self.image_json(image))
        yield "brief.md", self.brief_md().encode()
        yield "discussion.md", self.discussion_md().encode()
        if (self.values.get("launch") or {}).get("scripts"):  # the launch kit's results
            yield from export_files(dict(self.values))
        if self.values.get("video"):  # the final MP4, the timed script, captions, each stage
            yield from video_files(self.values["video"], {r.id: r for r in self.records})

    def image_json(self, image: Image) -> dict[str, Any]:
        r, c = image.record, image.critique
        return {
            "deliverable": image.deliverable,
            "file": f"{image.stem}.png",
            "asset_id": r.id,
            "verdict": "approved" if self.approved else "current",
            "sketch": is_sketch(r),
            "iteration": r.iteration,
            "attempt": r.attempt,
            "seed": r.seed,
            "generator": r.generator,
            "width": r.width,
            "height": r.height,
            "sha256": r.sha256,
            "created_at": r.created_at.isoformat(),
            "score": c["score"] if c else None,
            "reasons": list(c["reasons"]) if c else [],
            "measurements": dict(c.get("measurements") or {}) if c else {},
            "spec": r.spec,
            "recipe": r.recipe,
        }

    def manifest(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "title": self.title,
            "exported_at": self.exported_at.isoformat(),
            "approved": self.approved,
            "status": self.status_line(),
            "phase": self.values.get("phase"),
            "outcome": self.values.get("outcome"),
            "stop_reason": self.values.get("stop_reason"),
            "brief": self.values.get("brief", ""),
            "directions": directions(self.values),
            "images": [
                {
                    "deliverable": i.deliverable,
                    "file": f"{i.stem}.png",
                    "spec": f"{i.stem}.json",
                    "asset_id": i.record.id,
                    "iteration": i.record.iteration,
                    "score": i.critique["score"] if i.critique else None,
                    "sketch": is_sketch(i.record),
                }
                for i in self.images
            ],
        }

    def readme(self) -> str:
        lines = [
            f"# {self.title}",
            "",
            f"Creative Studio export of thread `{self.thread_id}`, "
            f"{self.exported_at.strftime('%Y-%m-%d %H:%M UTC')}.",
            "",
            f"**{self.status_line()}**",
            "",
        ]
        if self.images:
            lines += ["| image | deliverable | iteration | score | made by |", "| --- " * 5 + "|"]
            for i in self.images:
                score = f"{i.critique['score']}/10" if i.critique else "not scored"
                made = i.record.generator + (
                    " (sketch: layout only)" if is_sketch(i.record) else ""
                )
                lines.append(
                    f"| {i.stem}.png | {i.deliverable} | {i.record.iteration} | {score} | {made} |"
                )
            lines += ["", f"Each image's spec and recipe: `<deliverable>.json`. {RECIPE_NOTE}", ""]
        elif self.values.get("video"):
            lines += [VIDEO_NOTE, ""]
        elif (self.values.get("launch") or {}).get("scripts"):  # its files are in launch/
            lines += export_readme(dict(self.values))
        else:
            lines += ["No images yet.", ""]
        lines += [
            "Also here: `brief.md` (the brief and your directions), `discussion.md` (the "
            "team's discussion, in order) and `manifest.json` (all of this for scripts).",
            "",
        ]
        return "\n".join(lines)

    def brief_md(self) -> str:
        lines = ["# Brief", "", str(self.values.get("brief") or "(no brief yet)"), ""]
        plan = self.values.get("plan") or {}
        if plan.get("deliverables"):
            lines += ["## Deliverables", ""]
            for d in plan["deliverables"]:
                lines.append(f"- `{d['id']}` ({d.get('aspect', '')}): {d.get('title', '')}")
            lines.append("")
        given = directions(self.values)
        lines += ["## Your directions", ""]
        for d in given:
            scope = "the whole set" if d.get("scope", "*") == "*" else d["scope"]
            avoid = "avoid: " if d.get("negative") else ""
            source = str(d.get("source", "")).replace("_", " ")
            lines.append(f"- {avoid}{d.get('text', '')} ({scope}; {source})")
        if not given:
            lines.append("None beyond the brief.")
        lines.append("")
        return "\n".join(lines)

    def discussion_md(self) -> str:
        lines = [f"# Discussion: {self.title}", ""]
        for message in self.values.get("messages", []):
            text = _text(message).strip()
            if text:
                lines += [f"**{_speaker(message)}:**", "", text, ""]
        return "\n".join(lines)


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def build(
    thread_id: str,
    row: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    records: list[AssetRecord],
) -> Package:
    """The package of a thread from its registry row, state values and asset records."""
    row = row or {}
    brief = str(values.get("brief") or "")
    title = str(row.get("title") or (row.get("metadata") or {}).get("title") or brief[:60])
    by_id = {r.id: r for r in records}
    critiques = {c["asset_id"]: c for c in values.get("critiques", [])}
    chosen = current_set(values)
    order = [d["id"] for d in (values.get("plan") or {}).get("deliverables", [])]
    order += sorted(set(chosen) - set(order))
    images, stems = [], set()
    for deliverable in order:
        record = by_id.get(chosen.get(deliverable, ""))
        if record is None:
            continue
        stem = file_stem(deliverable)
        while stem in stems or stem in ("readme", "manifest", "brief", "discussion"):
            stem += "-1"
        stems.add(stem)
        images.append(Image(deliverable, stem, record, critiques.get(record.id)))
    return Package(
        thread_id, title or "untitled", values, images, datetime.now(UTC), tuple(records)
    )


async def collect(studio: Studio, thread_id: str) -> Package | None:
    """A thread's package as it stands now; None for a thread this studio does not know."""
    row = await studio.threads.get(thread_id)
    values = (await studio.graph.aget_state(studio.config(thread_id))).values or {}
    if row is None and not values:
        return None
    records = await studio.context.assets.list_thread(thread_id)
    return build(thread_id, row, values, records)


def write_zip(package: Package, directory: Path | None = None) -> Path:
    """The package as a zip in a temporary file (the caller removes it). Blocking: run it in a
    thread. PNGs are stored as they are (already compressed), the text deflated."""
    handle = tempfile.NamedTemporaryFile(
        prefix="studio-export-", suffix=".zip", dir=directory, delete=False
    )
    path = Path(handle.name)
    try:
        with handle, zipfile.ZipFile(handle, "w") as archive:
            for name, data in package.files():
                stored = name.endswith((".png", ".mp4"))  # already compressed
                kind = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                archive.writestr(name, data, compress_type=kind)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def write_folder(package: Package, folder: Path) -> list[Path]:
    """The package's files in `folder` (created; files of the same names replaced). Blocking."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in package.files():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)  # the launch kit's files are in launch/
        path.write_bytes(data)
        written.append(path)
    return written
