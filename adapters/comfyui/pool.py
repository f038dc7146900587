"""`ComfyUIPool`: one `ImageGenerator` over several ComfyUI servers, least busy first."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from adapters.comfyui.generator import ComfyUIImageGenerator
from adapters.comfyui.jobs import prompt_id_for
from adapters.comfyui.lifecycle import Finished, JobState, Queued, reconcile
from adapters.comfyui.outcomes import was_interrupted
from adapters.comfyui.progress import monotonic
from adapters.comfyui.templates import TEMPLATES, traits
from adapters.errors import GenerationCancelled, ServiceUnavailable
from adapters.images import GeneratedImage, ProgressFn, TemplateTraits
from adapters.specs import GenerationSpec

Probe = tuple[JobState, bool] | None
"""Where a prompt stands on one server and whether it can run the spec's template; None: down."""


def _holds(state: JobState) -> int | None:
    """How firmly a server holds a job: 0 queued or running, 1 finished, None not at all (an
    interrupted record does not count: a cancelled job asked for again runs afresh)."""
    if isinstance(state, Queued):
        return 0
    if isinstance(state, Finished) and not was_interrupted(state.entry):
        return 1
    return None


class ComfyUIPool:
    """Generates through N ComfyUI servers; implements `adapters.images.ImageGenerator`.

    Each job goes to the server with the fewest of this process's jobs in flight (ties in
    turn) among those that can be reached and can run its template. Exactly-once holds
    across the pool: before dispatching, every reachable server is asked about the job's
    prompt id (`/queue`, `/history/{id}`), and a server that has it queued, running or
    finished gets the job back, to attach or collect. A server that cannot be reached is
    skipped, also when it goes away mid-job (the job then runs on another one), and is not
    asked again for `retry_down_s` (a dead host would otherwise cost every job a connect
    timeout); only when none can be reached is `ServiceUnavailable` raised, and when every
    server is resting, all are asked again. `templates()` is the union of what
    the servers can run: a job is only dispatched to a server that runs its template.
    """

    name = "comfyui"

    def __init__(
        self, members: Sequence[ComfyUIImageGenerator], *, retry_down_s: float = 10.0
    ) -> None:
        if not members:
            raise ValueError("a ComfyUI pool needs at least one server")
        self.members = list(members)
        self.retry_down_s = retry_down_s
        self._down_until = [0.0] * len(self.members)
        """Per member: loop time before which it is not asked (it could not be reached)."""
        self.label = f"ComfyUI pool of {len(self.members)} ({', '.join(self.urls)})"
        self._busy = [0] * len(self.members)
        """Jobs of this process in flight per member."""
        self._turn = 0
        self._jobs: dict[str, ComfyUIImageGenerator | None] = {}
        """Prompt id -> member running it (None while choosing) of every `generate` here."""
        self._cancelled: set[str] = set()

    @classmethod
    def from_urls(
        cls, urls: Sequence[str], *, retry_down_s: float = 10.0, **options: Any
    ) -> ComfyUIPool:
        """A pool of `ComfyUIImageGenerator(url, **options)`, one per URL."""
        members = [ComfyUIImageGenerator(url, **options) for url in urls]
        return cls(members, retry_down_s=retry_down_s)

    @property
    def urls(self) -> list[str]:
        return [member.client.base_url for member in self.members]

    async def __aenter__(self) -> ComfyUIPool:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every server's connections."""
        await asyncio.gather(*(member.aclose() for member in self.members))

    async def generate(
        self,
        spec: GenerationSpec,
        *,
        job_id: str,
        on_progress: ProgressFn,
        references: Sequence[bytes] = (),
    ) -> list[GeneratedImage]:
        """Make the images for `spec` on one server (see the class), or collect them from the
        server that already ran this job. Raises what `ComfyUIImageGenerator.generate` does."""
        prompt_id = prompt_id_for(job_id)
        on_progress = monotonic(on_progress)  # a fall-over restarts the count; the bar must not
        down: set[int] = set()
        self._jobs[prompt_id] = None
        try:
            while True:
                index = await self._choose(prompt_id, spec.template, down)
                if prompt_id in self._cancelled:
                    raise GenerationCancelled("The generation was cancelled.")
                member = self.members[index]
                self._busy[index] += 1
                self._jobs[prompt_id] = member
                try:
                    return await member.generate(
                        spec, job_id=job_id, on_progress=on_progress, references=references
                    )
                except ServiceUnavailable:
                    down.add(index)  # gone mid-job: its queue is lost or unreachable
                    self._rest(index)
                finally:
                    self._busy[index] -= 1
                    self._jobs[prompt_id] = None
        finally:
            self._jobs.pop(prompt_id, None)
            self._cancelled.discard(prompt_id)

    async def _choose(self, prompt_id: str, template: str, down: set[int]) -> int:
        """The member for a job: the one holding it, else the least busy that can run it.
        Adds the members that cannot be reached to `down`; skips those resting, unless all
        the others are down too."""
        fresh, resting = self._split()
        up = await self._probe_all([i for i in fresh if i not in down], prompt_id, template, down)
        if not up:  # nothing else answered: try the resting ones after all
            up = await self._probe_all(
                [i for i in resting if i not in down], prompt_id, template, down
            )
        if not up:
            raise ServiceUnavailable(self._unreachable())
        holders = {i: rank for i, (state, _) in up.items() if (rank := _holds(state)) is not None}
        if holders:
            return min(holders, key=lambda i: holders[i])
        # When no server can run the template, one still gets the job, to say what it lacks.
        capable = [i for i, (_, runs) in up.items() if runs] or list(up)
        n = len(self.members)
        chosen = min(capable, key=lambda i: (self._busy[i], (i - self._turn) % n))
        self._turn = (chosen + 1) % n
        return chosen

    async def _probe_all(
        self, indices: list[int], prompt_id: str, template: str, down: set[int]
    ) -> dict[int, tuple[JobState, bool]]:
        """Probe these members at once; the ones that answer, by index (the others rest)."""
        probes = await asyncio.gather(*(self._probe(i, prompt_id, template) for i in indices))
        up = {i: probe for i, probe in zip(indices, probes, strict=True) if probe is not None}
        for i in indices:
            if i in up:
                self._down_until[i] = 0.0
            else:
                down.add(i)
                self._rest(i)
        return up

    def _rest(self, index: int) -> None:
        self._down_until[index] = asyncio.get_running_loop().time() + self.retry_down_s

    async def _probe(self, index: int, prompt_id: str, template: str) -> Probe:
        member = self.members[index]
        try:
            state = await reconcile(member.client, prompt_id)
            caps = await member.capabilities()
        except ServiceUnavailable:
            return None
        known = template in TEMPLATES  # an unknown one is the member's to explain
        return state, known and not any(m.blocking for m in caps.check_template(template))

    async def cancel(self, job_id: str) -> None:
        """Cancel the job on the server running it; a job not in flight here (another
        process's) is looked for on every server. Never raises `ServiceUnavailable`."""
        prompt_id = prompt_id_for(job_id)
        if prompt_id in self._jobs:
            self._cancelled.add(prompt_id)
        member = self._jobs.get(prompt_id)
        targets = [member] if member is not None else self.members
        await asyncio.gather(*(target.cancel(job_id) for target in targets))

    async def cancel_thread(self, thread_id: str) -> list[str]:
        """Cancel every job of a thread on every server; returns the job ids."""
        found = await asyncio.gather(*(m.cancel_thread(thread_id) for m in self.members))
        return sorted({job for jobs in found for job in jobs})

    def traits(self, template: str) -> TemplateTraits:
        """Whether `template` makes a sketch (`compose`) and whether it uses a sampler: the
        same on every server, since the templates ship with the studio."""
        return traits(template)

    async def templates(self) -> list[str]:
        """Templates at least one reachable server can run from a spec alone, in the order
        of `TEMPLATES`. Resting servers are asked only when no other answers (as for a job),
        and one that does not answer rests. Raises `ServiceUnavailable` when none answers."""
        fresh, resting = self._split()
        runnable = await self._templates_of(fresh)
        if not runnable:  # nothing else answered: ask the resting ones after all
            runnable = await self._templates_of(resting)
        if not runnable:
            raise ServiceUnavailable(self._unreachable())
        return [name for name in TEMPLATES if any(name in names for names in runnable)]

    async def _templates_of(self, indices: list[int]) -> list[set[str]]:
        """What each of these members runs, for those that answer (the others rest)."""
        outcomes = await asyncio.gather(
            *(self.members[i].templates() for i in indices), return_exceptions=True
        )
        runnable: list[set[str]] = []
        for index, outcome in zip(indices, outcomes, strict=True):
            if isinstance(outcome, ServiceUnavailable):
                self._rest(index)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                self._down_until[index] = 0.0
                runnable.append(set(outcome))
        return runnable

    def _split(self) -> tuple[list[int], list[int]]:
        """The members' indices: those that may be asked now, and those resting."""
        now = asyncio.get_running_loop().time()
        fresh = [i for i in range(len(self.members)) if self._down_until[i] <= now]
        return fresh, [i for i in range(len(self.members)) if i not in fresh]

    async def describe(self) -> dict[str, Any]:
        """Every server's report under `servers`, merged for people: a template runs when
        some server runs it, and what each server lacks is named with its URL. `ok` is False
        and `error` names them when some servers cannot be reached (the others carry on).
        Resting servers are asked too (this is the health report), and rest or wake by it."""
        servers = await asyncio.gather(*(self._describe(m) for m in self.members))
        for index, server in enumerate(servers):  # a report asks every server: learn from it
            if server["ok"]:
                self._down_until[index] = 0.0
            else:
                self._rest(index)
        up = [s for s in servers if s["ok"]]
        if not up:
            raise ServiceUnavailable(self._unreachable())
        templates = {
            name: {
                "runnable": any(s["templates"][name]["runnable"] for s in up),
                "missing": [
                    f"{s['url']}: {line}" for s in up for line in s["templates"][name]["missing"]
                ],
                "sketch": traits(name).sketch,
                "sampler": traits(name).sampler,
            }
            for name in TEMPLATES
        }
        report: dict[str, Any] = {
            "generator": self.name,
            "url": ", ".join(self.urls),
            "version": ", ".join(dict.fromkeys(s["version"] for s in up)),
            "devices": [device for s in up for device in s["devices"]],
            "checkpoints": list(dict.fromkeys(c for s in up for c in s["checkpoints"])),
            "templates": templates,
            "servers": servers,
        }
        if errors := [s["error"] for s in servers if not s["ok"]]:
            report.update(ok=False, error=" ".join(errors))
        return report

    @staticmethod
    async def _describe(member: ComfyUIImageGenerator) -> dict[str, Any]:
        try:
            return {"ok": True, **await member.describe()}
        except ServiceUnavailable as exc:
            return {"ok": False, "url": member.client.base_url, "error": exc.message}

    def _unreachable(self) -> str:
        return (
            f"Cannot reach any of the {len(self.members)} ComfyUI servers in COMFYUI_URL "
            f"({', '.join(self.urls)}). Check COMFYUI_URL and that at least one of them is "
            "running; generation waits until one is back."
        )
