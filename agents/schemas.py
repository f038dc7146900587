"""Structured answers the team gives (planner, plan review, critique), as model-facing schemas.

Bounds are deliberately loose: whatever a model returns is clamped by the node that asked.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeliverableOut(BaseModel):
    """One image the session must deliver."""

    # A deliverable as the planner answers it (`purpose` and `aspect` may be left out); the
    # thread keeps `graph.state.Deliverable`, made from it by `agents.planner.clean_plan`.

    id: str = Field(description="short slug, e.g. hero-a")
    title: str
    purpose: str = ""
    aspect: str = Field("16:9", description="aspect ratio such as 16:9, 1:1, 4:5")


class PlanOut(BaseModel):
    """The planner's expansion of the brief."""

    # The planner's answer, loose: `agents.planner.clean_plan` makes it the `graph.state.Plan`
    # the thread keeps (unique ids, known aspect ratios, a short guard list). Its JSON schema,
    # titled `Plan`, is what the planner is asked for.
    model_config = ConfigDict(title="Plan")

    deliverables: list[DeliverableOut] = Field(
        description="exactly the images the person asked for (counts, formats, aspect ratios); "
        "when they named none, two to four"
    )
    style_guards: list[str] = Field(default_factory=list)
    scope: str = ""


class PlanReview(BaseModel):
    """Lens's review of the technical plan before anything is generated."""

    approved: bool
    reasons: list[str] = Field(default_factory=list)


class CritiqueVerdict(BaseModel):
    """Lens's judgement of one output against the brief."""

    score: float = Field(description="0 (fails the brief) to 10 (exactly right)")
    reasons: list[str] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
