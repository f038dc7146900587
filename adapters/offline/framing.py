"""Composition rules as data: framings, camera heights, lenses, thirds, horizon, depth layers.

`plan_shot` applies them to one deliverable; `parse_shot` reads the same choices back out of
prose (Frame's lines, or a person's "move the figure left"), so the director can honour them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from adapters.offline.reading import Deliverable

FRAMINGS: dict[str, tuple[int, float, str, str]] = {
    "wide": (24, 0.26, "wide establishing shot", "the place gets room to speak"),
    "medium": (35, 0.42, "medium shot", "figure and setting share the frame"),
    "close": (85, 0.62, "close shot", "the long lens compresses the background into soft shapes"),
    "icon": (50, 0.55, "bold centred shot", "one simple shape that still reads at thumbnail size"),
}
"""Framing -> (focal length in mm, subject height as a share of the frame, name, what it does)."""
ORDER = ("wide", "medium", "close")

ANGLES: dict[str, tuple[float, str]] = {
    "low": (0.75, "low angle from knee height, tilted up so the subject towers over us"),
    "eye": (0.62, "eye level (about 1.6 m), so the viewer stands beside them"),
    "high": (0.3, "high angle looking down, so the subject seems small and exposed"),
    "overhead": (0.06, "straight overhead, which turns the scene into a graphic map"),
}
"""Camera height -> (horizon line, 0 top .. 1 bottom; what the angle does to the subject)."""

SETTINGS: dict[str, tuple[str, str, str]] = {
    "wet asphalt": (
        "the kerb lines and shopfront edges converging on a vanishing point",
        "puddles and sign edges close to the lens",
        "towers and signage stacking up into haze",
    ),
    "forest": (
        "the path and the rhythm of trunks",
        "ferns and leaves brushing the lens",
        "trunks fading into layered mist",
    ),
    "ocean": (
        "the shoreline curving into the frame",
        "wet sand and foam in the foreground",
        "the horizon line and open sky",
    ),
    "desert": (
        "dune ridges sweeping toward the subject",
        "rippled sand sharp in the foreground",
        "mesas flattening into heat haze",
    ),
    "snow": (
        "a line of footprints leading in",
        "drifts and ice crystals near the lens",
        "white-out hills behind",
    ),
    "brick": (
        "the alley walls and mortar courses",
        "a corner of brick wall framing one side",
        "a lit window at the end of the alley",
    ),
}
"""Setting -> (leading lines, foreground layer, background layer)."""
DEFAULT_SETTING = (
    "architectural edges or a path that runs toward the subject",
    "a soft, dark foreground element to frame the view",
    "the setting receding in lighter, hazier tones",
)
PLACES = {0.33: "on the left third", 0.5: "in the centre", 0.67: "on the right third"}


@dataclass(frozen=True)
class Shot:
    """Where the camera stands and where the subject sits, in the spec's 0-1 units."""

    framing: str
    camera: str
    focal_mm: int
    subject_x: float
    subject_y: float
    subject_scale: float
    horizon: float

    @property
    def place(self) -> str:
        return place_of(self.subject_x)


def place_of(subject_x: float) -> str:
    """Where a subject sits, in words: `on the left third`, `in the centre`, `at 40% across`."""
    return PLACES.get(round(subject_x, 2), f"at {round(subject_x * 100)}% across")


def framing_for(deliverable: Deliverable) -> str:
    """The framing a deliverable implies by its id, title, purpose and aspect."""
    text = f"{deliverable.id} {deliverable.title} {deliverable.purpose}".lower()
    if re.search(r"thumb|icon|avatar|logo|reads (?:small|tiny)", text):
        return "icon"
    if re.search(r"close|portrait|detail|intimate", text):
        return "close"
    if re.search(r"establish|wide|banner|panoram", text):
        return "wide"
    w, _, h = deliverable.aspect.partition(":")
    try:
        ratio = float(w) / float(h)
    except ValueError:
        return "wide"
    return "wide" if ratio >= 1.5 else "medium"  # a square post is a picture, not a mark


def parse_shot(text: str) -> dict[str, float | str]:
    """Camera, placement, horizon and scale named in prose; the last mention wins."""
    low = text.lower()
    found: dict[str, float | str] = {}
    cues: list[tuple[int, str, float | str]] = []
    for pattern, key, value in (
        (r"low[- ]angle|worm'?s[- ]eye|from below|knee height|low camera", "camera", "low"),
        (r"high[- ]angle|from above|looking down", "camera", "high"),
        (r"overhead|top[- ]down|bird'?s[- ]eye|aerial", "camera", "overhead"),
        (r"eye[- ]level", "camera", "eye"),
        (
            r"left third|(?:to|on|at) the left|(?:move|shift|put|place)\b[^.;]*?\bleft\b",
            "subject_x",
            0.33,
        ),
        (
            r"right third|(?:to|on|at) the right|(?:move|shift|put|place)\b[^.;]*?\bright\b",
            "subject_x",
            0.67,
        ),
        (r"\bcent(?:re|er|red|ered)\b", "subject_x", 0.5),
        (r"\blow horizon|horizon (?:sits |kept |placed )?low\b", "horizon", 0.75),
        (r"high horizon|horizon (?:sits |kept |placed )?high", "horizon", 0.3),
        (r"lower(?:ing)? (?:the )?horizon|horizon lower|drop(?:ping)? the horizon", "shift", 0.15),
        (r"rais(?:e|ing) (?:the )?horizon|higher horizon|horizon higher", "shift", -0.15),
        # "bigger" scales the subject only when it says nothing else grows ("bigger waves")
        (
            r"closer|close[- ]up|tighter|(?:bigger|larger)(?=\s*(?:[,.;!]|$))|"
            r"(?:subject|figure|it|him|her|them)\s+(?:bigger|larger)",
            "scale",
            1.3,
        ),
        (r"further away|farther|wider|smaller", "scale", 0.75),
    ):
        cues += [(m.start(), key, value) for m in re.finditer(pattern, low)]
    for _, key, value in sorted(cues, key=lambda cue: cue[0]):
        found[key] = value
    if match := list(re.finditer(r"horizon[^.;]*?(\d{1,2})\s?%", low)):
        found["horizon"] = int(match[-1].group(1)) / 100
    if match := list(re.finditer(r"\b(\d{2,3})\s?mm\b", low)):
        found["focal_mm"] = float(match[-1].group(1))
    return found


def _subject_y(camera: str, horizon: float, scale: float) -> float:
    # At eye level the horizon crosses a standing figure's head; a low camera lifts the head
    # above it, a high one drops the whole figure below it.
    offset = {"low": -0.1 * scale, "eye": 0.5 * scale, "high": 0.8 * scale, "overhead": 0.0}
    centre = 0.5 if camera == "overhead" else horizon + offset[camera]
    return round(max(0.2, min(0.85, centre)), 3)


def plan_shot(deliverable: Deliverable, index: int, mood: str, direction: str = "") -> Shot:
    """A shot for one deliverable: its framing, an alternating angle and third, then direction."""
    framing = framing_for(deliverable)
    camera = "eye"
    if index % 3 == 1 and framing != "icon":
        camera = "low" if mood in ("epic", "tense", "mysterious", "joyful") else "high"
    subject_x = 0.5 if framing == "icon" else (0.33 if index % 2 == 0 else 0.67)
    variant = re.search(r"-([a-h])$", deliverable.id)
    if framing == "icon" and variant:  # thumbnail-a/b/c: each variation its own take
        nth = "abcdefgh".index(variant.group(1))
        subject_x = (0.5, 0.38, 0.62)[nth % 3]
        camera = ("eye", "low", "high")[nth % 3]
    asked = parse_shot(direction)
    camera = str(asked.get("camera", camera))
    subject_x = float(asked.get("subject_x", subject_x))
    scale_step = float(asked.get("scale", 1.0))
    if framing in ORDER and scale_step != 1.0:  # "closer" moves one framing in, "wider" one out
        step = 1 if scale_step > 1 else -1
        framing = ORDER[max(0, min(len(ORDER) - 1, ORDER.index(framing) + step))]
    focal, scale, _, _ = FRAMINGS[framing]
    if camera == "low" and framing == "wide":
        focal = 20  # a wider lens exaggerates the towering verticals a low camera is after
    horizon = float(asked.get("horizon", ANGLES[camera][0]))
    return Shot(
        framing, camera, focal, subject_x, _subject_y(camera, horizon, scale), scale, horizon
    )


def apply_shot(shot: Shot, parsed: dict[str, float | str]) -> Shot:
    """Overlay choices parsed from prose (e.g. Frame's line) onto a planned shot."""
    camera = str(parsed.get("camera", shot.camera))
    horizon = float(
        parsed.get("horizon", shot.horizon if camera == shot.camera else ANGLES[camera][0])
    )
    scale = shot.subject_scale * float(parsed.get("scale", 1.0))
    if "focal_mm" in parsed:
        focal = float(parsed["focal_mm"])
        scale = 0.26 if focal <= 28 else 0.42 if focal <= 45 else 0.55 if focal <= 65 else 0.62
    scale = round(max(0.12, min(0.8, scale)), 3)
    return replace(
        shot,
        camera=camera,
        horizon=round(horizon, 3),
        subject_scale=scale,
        focal_mm=int(parsed.get("focal_mm", shot.focal_mm)),
        subject_x=float(parsed.get("subject_x", shot.subject_x)),
        subject_y=_subject_y(camera, horizon, scale),
    )


def setting_lines(materials: list[str]) -> tuple[str, str, str]:
    """Leading lines, foreground and background for the first setting the brief names."""
    return next((SETTINGS[m] for m in materials if m in SETTINGS), DEFAULT_SETTING)
