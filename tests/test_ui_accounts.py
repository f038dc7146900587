"""Accounts in the browser: on the studio's machine nothing to type; elsewhere a one-time
link, a password, the signed-in name with usage, sign-out and sign-in again."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from people.home_token import home_token
from tests.ui_harness import Server, shot


def remote(page: Any) -> Any:
    """A browser context like one on another machine: `GET /local/owner` answers 404 there."""
    context = page.context.browser.new_context(viewport={"width": 1200, "height": 860})
    context.route("**/local/owner", lambda route: route.fulfill(status=404, body="{}"))
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    return tab


def test_the_local_person_is_signed_in_without_typing(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    expect(page.locator("#account")).to_contain_text("· admin")
    expect(page.locator("#sign-out")).to_have_count(0)
    expect(page.locator("#signin")).to_have_count(0)
    expect(page.get_by_label("Title")).to_be_visible()


def test_the_admin_manages_people_and_their_limits(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.locator("#account a.account-name").click()
    page.wait_for_url("**/pages/people")
    people = page.locator("#people")
    expect(people.locator("tbody tr")).to_have_count(1)  # the local admin, "(you)"
    expect(people.locator("tbody tr").first).to_contain_text("(you)")
    people.get_by_label("Name").fill("bob")
    people.get_by_role("button", name="Add person").click()
    expect(people.locator(".signin-link")).to_contain_text("/auth/link?code=sl_")
    bob = people.locator("tbody tr", has_text="bob")
    expect(bob).to_contain_text("0 of 1000")
    bob.get_by_label("bob: daily generations limit (empty: the default, 0: none)").fill("5")
    bob.get_by_label("bob: daily generations limit (empty: the default, 0: none)").press("Enter")
    expect(people.locator("tbody tr", has_text="bob")).to_contain_text("0 of 5")
    people.locator("tbody tr", has_text="bob").get_by_role("button", name="Disable").click()
    expect(people.locator("tbody tr", has_text="bob")).to_contain_text("disabled")
    shot(page, "accounts-3-people")
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    listed = httpx.get(f"{server.url}/users", headers=admin, timeout=30).json()
    row = next(u for u in listed if u["name"] == "bob")
    assert row["disabled"] and row["limits"]["daily_generations"] == 5


def test_a_person_elsewhere_signs_in_with_a_link_then_a_password(page: Any, server: Server) -> None:
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    made = httpx.post(f"{server.url}/users", json={"name": "ada"}, headers=admin, timeout=30)
    assert made.status_code == 201, made.text
    link = made.json()["signin_url"]
    tab = remote(page)
    try:
        tab.goto(server.url + "/")
        expect(tab.locator("#signin")).to_be_visible()  # nobody is signed in there
        tab.goto(server.url + link[link.index("/auth/link") :])
        expect(tab.locator("#set-password")).to_be_visible()
        tab.locator("#set-password input[name=password]").fill("a long password")
        tab.get_by_role("button", name="Save password").click()
        expect(tab.locator("#set-password")).to_be_hidden()
        expect(tab.locator("#account")).to_contain_text("ada · creator")
        usage = tab.locator("#account .account-name").get_attribute("title") or ""
        assert "generations today: 0 of 1000" in usage
        shot(tab, "accounts-1-signed-in")
        tab.get_by_role("button", name="Sign out").click()
        expect(tab.locator("#signin")).to_be_visible()
        form = tab.locator("#signin")
        form.get_by_label("Name", exact=True).fill("ada")
        form.get_by_label("Password").fill("a wrong password")
        form.get_by_role("button", name="Sign in").click()
        expect(form.locator(".signin-status")).to_have_text("Wrong name or password")
        form.get_by_label("Password").fill("a long password")
        form.get_by_role("button", name="Sign in").click()
        expect(tab.locator("#account")).to_contain_text("ada · creator")
        tab.get_by_label("Title").fill("Signed-in harbour")
        tab.get_by_role("button", name="Start session").click()
        tab.wait_for_url("**/t/*")
        expect(tab.locator("li.msg.theirs").first).to_be_visible(timeout=60_000)
        expect(tab.locator("#connection")).to_have_text("live")
        shot(tab, "accounts-2-session")
    finally:
        tab.context.close()


def test_someone_signing_in_on_the_studios_machine_is_who_the_page_acts_as(
    page: Any, server: Server
) -> None:
    """A new user signed in as alice on the laptop itself and `/me` said alice, yet the header
    said the home's admin and the sidebar listed the admin's threads: the home's owner token won
    over her session. Signing out brings the home's owner back."""
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    made = httpx.post(f"{server.url}/users", json={"name": "alice"}, headers=admin, timeout=30)
    assert made.status_code == 201, made.text
    link = made.json()["signin_url"]
    page.goto(server.url + "/")
    expect(page.locator("#account")).to_contain_text("· admin")
    page.goto(server.url + link[link.index("/auth/link") :])
    expect(page.locator("#set-password")).to_be_visible()
    page.locator("#set-password input[name=password]").fill("a long password")
    page.get_by_role("button", name="Save password").click()
    expect(page.locator("#account")).to_contain_text("alice · creator")
    page.reload()
    expect(page.locator("#account")).to_contain_text("alice · creator")
    expect(page.locator("#audit-link")).to_be_hidden()
    expect(page.locator("#media-link")).to_be_hidden()  # admins only by default; asked /me
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#account")).to_contain_text("· admin")


def signed_in_elsewhere(page: Any, server: Server, name: str, role: str) -> Any:
    """A tab on another machine signed in as a new person `name` (their one-time link)."""
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    made = httpx.post(
        f"{server.url}/users", json={"name": name, "role": role}, headers=admin, timeout=30
    )
    assert made.status_code == 201, made.text
    link = made.json()["signin_url"]
    tab = remote(page)
    errors: list[str] = []
    # `/local/owner`'s 404 is how `remote` makes the tab another machine; any other error
    # (a 403 from a form the role cannot use) is a failure
    tab.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 404" not in m.text else None
        ),
    )
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.console_errors = errors
    tab.goto(server.url + link[link.index("/auth/link") :])
    expect(tab.locator("#set-password")).to_be_visible()
    tab.get_by_role("button", name="Later").click()
    expect(tab.locator("#account")).to_contain_text(f"{name} · {role}")
    return tab


def test_each_page_offers_only_what_the_signed_in_role_can_do(page: Any, server: Server) -> None:
    """D13: a creator saw an enabled "Add person" form on People and the filter form on Audit;
    a viewer saw "New session" and the Start form and learnt only after pressing Start that she
    cannot. Each is told in one line instead, and offered no form."""
    bob = signed_in_elsewhere(page, server, "bob", "creator")
    vic = signed_in_elsewhere(page, server, "vic", "viewer")
    try:
        for tab, who in ((bob, "bob (creator)"), (vic, "vic (viewer)")):
            tab.goto(server.url + "/pages/people")
            expect(tab.locator("#people")).to_contain_text(
                f"You are signed in as {who}; only admins manage people."
            )
            expect(tab.get_by_role("button", name="Add person")).to_have_count(0)
            expect(tab.locator("#people input, #people select")).to_have_count(0)
            tab.goto(server.url + "/pages/audit")
            expect(tab.locator("#audit-status")).to_have_text(
                f"You are signed in as {who}; only admins can read the audit trail."
            )
            expect(tab.locator("#audit-filters")).to_have_count(0)
        shot(bob, "accounts-roles-1-creator-audit")
        bob.goto(server.url + "/")  # a creator starts sessions
        expect(bob.get_by_role("button", name="Start session")).to_be_visible()
        expect(bob.get_by_role("link", name="New session")).to_be_visible()
        vic.goto(server.url + "/")
        expect(vic.locator("#start")).to_contain_text(
            "starting a session needs the admin or creator role"
        )
        expect(vic.get_by_role("button", name="Start session")).to_be_hidden()
        expect(vic.get_by_label("Title")).to_be_hidden()
        expect(vic.get_by_role("link", name="New session")).to_be_hidden()
        shot(vic, "accounts-roles-2-viewer-home")
        for tab in (bob, vic):
            assert not tab.console_errors, tab.console_errors
    finally:
        bob.context.close()
        vic.context.close()
