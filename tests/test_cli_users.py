"""`studio users add|list|disable|enable|reset` and the first admin's sign-in link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app, prepare_database
from engine.settings import Settings

runner = CliRunner()


@pytest.fixture
def studio_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("STUDIO_HOME", str(home))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("STUDIO_PUBLIC_URL", raising=False)
    return home


def studio(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_users_add_list_disable_enable_reset(studio_env: Path) -> None:
    code, out = studio("users", "add", "ada", "--role", "admin")
    assert code == 0, out
    assert "added ada (admin)" in out and "http://127.0.0.1:8000/auth/link?code=sl_" in out
    code, out = studio("users", "add", "bob")
    assert code == 0 and "added bob (creator)" in out
    code, out = studio("users", "add", "Bob")
    assert code == 1 and "already exists" in out
    code, out = studio("users", "add", "eve", "--role", "owner")
    assert code == 2 and "role" in out
    code, out = studio("users", "list", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["ada"]["role"] == "admin" and rows["bob"]["role"] == "creator"
    assert not rows["bob"]["disabled"]
    assert rows["bob"]["usage"]["daily_generations"] == {
        "used": 0,
        "limit": 1000,
        "resets_in_s": rows["bob"]["usage"]["daily_generations"]["resets_in_s"],
    }
    code, out = studio("users", "list")
    assert "(this home's admin: the CLI)" in out.splitlines()[0] and out.splitlines()[0].startswith(
        "ada"
    )
    assert studio("users", "disable", "bob")[1].strip() == "bob: disabled"
    assert json.loads(studio("users", "list", "--json")[1])[1]["disabled"] is True
    code, out = studio("users", "disable", "ada")
    assert code == 1 and "cannot be disabled" in out
    assert studio("users", "enable", "bob")[1].strip() == "bob: enabled"
    code, out = studio("users", "reset", "bob")
    assert code == 0 and "password cleared" in out and "/auth/link?code=sl_" in out
    code, out = studio("users", "reset", "nobody")
    assert code == 1 and "No user named nobody" in out


def test_users_add_on_a_fresh_studio_with_another_role_makes_the_local_admin_first(
    studio_env: Path,
) -> None:
    code, out = studio("users", "add", "vic", "--role", "viewer")
    assert code == 0, out
    rows = json.loads(studio("users", "list", "--json")[1])
    assert [r["role"] for r in rows] == ["admin", "viewer"]


@pytest.mark.anyio
async def test_the_first_serve_prints_a_link_once(studio_env: Path) -> None:
    settings = Settings()
    first = await prepare_database(settings)
    assert first is not None and first[1].startswith("sl_")
    assert await prepare_database(settings) is None, "only the very first start makes an admin"


def test_sign_in_links_use_the_address_this_home_is_served_at(studio_env: Path) -> None:
    """With `studio serve --port 18955` running, `studio users add` printed links on :8000."""
    studio_env.mkdir(parents=True, exist_ok=True)
    (studio_env / "served-at").write_text("http://localhost:18955\n")  # as `studio serve` notes
    code, out = studio("users", "add", "alice")
    assert code == 0, out
    assert "http://localhost:18955/auth/link?code=sl_" in out and ":8000" not in out
