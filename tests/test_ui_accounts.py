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
        assert "images today: 0 of 1000" in usage
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
