"""The profile panel in a real browser: Playwright driving Debian's Chromium (installed by
`portrait setup system`) signs in, filters the list, opens a profile, switches language and
saves screenshots under reports/ui/."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "reports" / "ui"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make install` runs `portrait setup system`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def sign_in(page, service, role: str) -> None:
    page.goto(f"{service.url}/panel")
    assert "/signin" in page.url, "the panel asks for a sign-in first"
    page.fill("#username", service.user(role))
    page.fill("#password", service.passwords[service.user(role)])
    page.click("#signin")
    page.wait_for_selector("#customers")


def test_a_wrong_password_stays_on_the_sign_in_page(browser, service):
    page = browser.new_page()
    page.goto(f"{service.url}/signin")
    page.fill("#username", service.user("analyst"))
    page.fill("#password", "not the password at all")
    page.click("#signin")
    assert page.locator("#signin-error").is_visible()
    page.close()


def test_sign_in_filter_open_a_profile_and_switch_language(browser, service):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, service, "analyst")
    total = int(page.inner_text("#total"))
    assert total > 0
    # filter by the biggest value of the lifecycle facet
    facet = page.locator("[data-facet=lifecycle_stage] input[type=checkbox]").first
    value = facet.get_attribute("value")
    facet.check()
    page.wait_for_url("**lifecycle_stage=**")
    filtered = int(page.inner_text("#total"))
    assert 0 < filtered < total
    rows = page.locator("#customers tbody tr")
    assert rows.count() == min(filtered, 50)
    page.screenshot(path=str(SHOTS / "list.png"))
    assert all(value in r for r in page.locator("#customers tbody tr").all_inner_texts())

    page.locator("#customers tbody a").first.click()
    page.wait_for_selector("#chart-behaviour canvas")
    page.wait_for_timeout(500)  # ECharts' entry animation, for the screenshot
    assert page.locator("#tags .chip").count() > 0
    assert page.locator(".score-card").count() >= 1
    assert "原因" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "profile.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_selector("#chart-behaviour canvas")
    page.wait_for_timeout(500)
    assert "Reasons" in page.inner_text("body") and "Tags" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "profile_en.png"), full_page=True)

    page.click("#nav-segments")
    page.wait_for_selector("#chart-funnel canvas")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "segments.png"), full_page=True)
    page.close()


def test_a_sales_user_sees_no_contacts_of_other_owners_accounts(browser, service):
    import psycopg

    with psycopg.connect(service.superuser_dsn) as conn:
        (cid,) = conn.execute(
            "select cid from marts.dim_customer where owner_sales is distinct from %s"
            " and n_contacts > 0 order by cid limit 1",
            (service.owner_sales,),
        ).fetchone()
    page = browser.new_page()
    sign_in(page, service, "sales")
    page.goto(f"{service.url}/panel/customers/{cid}")
    assert "看不到" in page.inner_text("#contacts")
    page.click("#signout")
    page.goto(f"{service.url}/panel")
    assert "/signin" in page.url
    page.close()


def test_a_semantic_tag_opens_onto_the_texts_that_raised_it(browser, service):
    import psycopg

    with psycopg.connect(service.superuser_dsn) as conn:
        cid, tag, excerpt = conn.execute(
            "select cid, tag_code, excerpt from marts.mart_customer_text_evidence"
            " where evidence_rank = 1 and source_system <> 'service' order by cid, tag_code limit 1"
        ).fetchone()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, service, "analyst")
    page.goto(f"{service.url}/panel/customers/{cid}")
    evidence = page.locator(f"#evidence details[data-tag={tag}]")
    assert not evidence.locator("li").first.is_visible()  # folded until asked for
    evidence.locator("summary").click()
    assert excerpt[:20] in evidence.locator("li").first.inner_text()
    assert "标签依据" in page.inner_text("#evidence")
    page.screenshot(path=str(SHOTS / "evidence.png"), full_page=True)
    page.close()


def test_unknown_cid_is_a_404_page_and_a_retired_one_redirects(service):
    import psycopg

    c = service.client("analyst")
    r = c.get("/panel/customers/C-NO-SUCH-CUSTOMER")
    assert r.status_code == 404 and "C-NO-SUCH-CUSTOMER" in r.text
    with psycopg.connect(service.superuser_dsn) as conn:
        row = conn.execute(
            "select retired_cid, surviving_cid from marts.mart_cid_redirects limit 1"
        ).fetchone()
    if row is None:
        pytest.skip("this world retired no CID by a merge")
    r = c.get(f"/panel/customers/{row[0]}", follow_redirects=False)
    assert r.status_code in (301, 308)
    assert r.headers["location"] == f"/panel/customers/{row[1]}"


def test_the_sign_in_returns_to_the_filtered_page_asked_for(service):
    import httpx

    with httpx.Client(base_url=service.url) as c:
        r = c.get("/panel?lifecycle_stage=active&q=x", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
        r = c.post(
            "/signin",
            data={"username": service.user("analyst"),
                  "password": service.passwords[service.user("analyst")],
                  "next": "/panel?lifecycle_stage=active&q=x"},
            follow_redirects=False,
        )  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/panel?lifecycle_stage=active&q=x"
        r = c.post(
            "/signin",
            data={"username": service.user("analyst"),
                  "password": service.passwords[service.user("analyst")],
                  "next": "//evil.example/"},
            follow_redirects=False,
        )  # fmt: skip
        assert r.headers["location"] == "/panel"


def test_the_language_switch_keeps_the_filters_and_empty_tag_selects_are_ignored(service):
    c = service.client("analyst")
    r = c.get("/panel", params={"q": "zzz", "tag_all": "", "tag_any": "", "tag_none": ""})
    assert r.status_code == 200, r.text
    assert 'href="?q=zzz&amp;tag_all=&amp;tag_any=&amp;tag_none=&amp;lang=en"' in r.text
    r = c.get("/panel", params={"q": "zzz", "lang": "en"})
    assert r.status_code == 200 and "All of" in r.text
    assert 'href="?q=zzz&amp;lang=zh"' in r.text
