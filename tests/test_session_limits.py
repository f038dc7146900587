"""A session's limits are declared once (`SessionDefaults`): the environment sets the process
defaults under their `STUDIO_*` names, and a thread's settings override them for that thread."""

from __future__ import annotations

import pytest

from engine.settings import Settings
from engine.studio import defaults_from
from graph.budgets import SessionDefaults, ThreadLimits, limits


def test_the_environment_sets_the_session_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_MAX_ROUNDS", "5")
    monkeypatch.setenv("STUDIO_SCORE_THRESHOLD", "6.5")
    monkeypatch.setenv("STUDIO_MAX_GENERATIONS", "9")
    monkeypatch.setenv("STUDIO_GENERATOR_WAIT_S", "2")
    defaults = defaults_from(Settings(_env_file=None))
    assert type(defaults) is SessionDefaults
    assert defaults == SessionDefaults(
        max_rounds=5, score_threshold=6.5, max_generations=9, generator_wait_s=2.0
    )


def test_unset_the_defaults_are_the_declared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SessionDefaults.model_fields:
        monkeypatch.delenv(f"STUDIO_{name.upper()}", raising=False)
    assert defaults_from(Settings(_env_file=None)) == SessionDefaults()


def test_a_thread_overrides_what_its_settings_name_and_keeps_the_rest() -> None:
    defaults = SessionDefaults(max_rounds=4, max_tokens=1000, generator_wait_s=3.0)
    settings = {"max_rounds": 2, "auto_approve": True, "budgets": {"max_seconds": 5}, "seed": 3}
    lim = limits({"messages": [], "settings": settings}, defaults)
    assert lim == ThreadLimits(
        max_rounds=2, max_tokens=1000, max_seconds=5.0, generator_wait_s=3.0, auto_approve=True
    )
    assert limits({"messages": []}, defaults).auto_approve is False
