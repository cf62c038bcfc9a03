"""Coordinators in headless Chromium: a region's scope on every route, every section of a region's
overview with that region's figures alone, search, the member list's and the cooperatives table's
paging and sort, the web announcement's confirm, the overdue list at 390 px.

Runs with MBOLO_BROWSER_TESTS=1 (or CI's PostgreSQL pass), like tests/test_admin_browser.py whose
server and browser fixtures it uses; screenshots go to test-artifacts/.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Cooperative, Instalment, Loan, Member, OutboundSms, Product, production
from models.admin_user import create_user
from models.enums import SmsKind, SmsStatus, Source
from models.messaging import ReminderSent
from models.portfolio import Month, dashboard
from models.scope import Scope
from sms.outbox import queue_sms
from tests import factories as f
from tests.conftest import DEFAULT_NOW
from tests.test_admin_browser import ENABLED, PASSWORD, _shot, _wait_for, _wait_text
from tests.test_admin_browser import browser as _browser  # noqa: F401 - the `browser` fixture
from tests.test_admin_browser import live_server as _live_server  # noqa: F401 - the `live_server` fixture
from tests.test_scoped_figures import SECTIONS, TABLES, _expected

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not ENABLED, reason="browser tests run with MBOLO_BROWSER_TESTS=1 or in CI's PostgreSQL pass"
    ),
]


@pytest.fixture
def server(request) -> str:
    """The app served on a free port (tests/test_admin_browser.py's `live_server`)."""
    return request.getfixturevalue("_live_server")


@pytest.fixture
def chrome(request):
    """Headless Chromium (tests/test_admin_browser.py's `browser`)."""
    return request.getfixturevalue("_browser")


@pytest.fixture
def programme(db):
    """Thiès (two cooperatives, 60 members in one, a late borrower) and Louga; two coordinators."""
    kms = f.coop(db, "GIE Keur Massar", "KMS", region="Thiès")
    tiv = f.coop(db, "GIE Tivaouane", "TIV", region="THIES")
    ndb = f.coop(db, "GIE Ndiambour", "NDB", region="Louga")
    awa = f.member(db, kms, "M0001", "Aïssatou Diop", phone="+221771234567", savings=15_000, language="wo")
    f.loan(
        db, awa, "L-1", principal=100_000, interest=10_000, installments=10, first_due_on=date(2026, 11, 15)
    )
    for i in range(2, 62):
        f.member(db, kms, f"M{i:04d}", f"Ndeye Sarr {i:02d}")
    binta = f.member(db, tiv, "M0001", "Binta Sow")
    f.loan(db, binta, "L-2", principal=50_000, interest=0, installments=5, first_due_on=date(2026, 8, 1))
    louga = f.member(db, ndb, "M0001", "Aissatou Fall", phone="+221773333333")
    f.loan(db, louga, "L-3", principal=80_000, interest=0, installments=8, first_due_on=date(2026, 11, 1))
    f.product(db, kms, "Mil", "kg")
    create_user(
        db, email="thies@mbolo.sn", password=PASSWORD, role="coordinator", region="thies", now=DEFAULT_NOW
    )
    create_user(db, email="coord@mbolo.sn", password=PASSWORD, role="coordinator", now=DEFAULT_NOW)
    db.commit()
    ids = {"kms": kms.id, "tiv": tiv.id, "ndb": ndb.id, "awa": awa.id, "louga": louga.id}
    db.close()
    return ids


def _log_in(driver, base: str, email: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/admin/logout")
    driver.delete_all_cookies()
    driver.get(f"{base}/admin/login")
    _wait_for(driver, "#email")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    _wait_for(driver, "#dashboard-title")


def _heading(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, "main h1").text


def test_a_regional_coordinator_stays_in_the_region_on_every_route(server, chrome, programme):
    """Inside Thiès every page opens; every Louga page, file and action answers 403."""
    from selenium.webdriver.common.by import By

    _log_in(chrome, server, "thies@mbolo.sn")
    table = chrome.find_element(By.ID, "cooperatives-table").text
    assert "GIE Keur Massar" in table and "GIE Tivaouane" in table and "GIE Ndiambour" not in table
    _shot(chrome, "21-region-overview")
    inside, outside = programme["kms"], programme["ndb"]
    routes = (
        "/admin/cooperatives/{coop}",
        "/admin/cooperatives/{coop}/overdue",
        "/admin/members/{member}",
        "/admin/production?cooperative={coop}",
    )
    for coop, member, allowed in ((inside, programme["awa"], True), (outside, programme["louga"], False)):
        for route in routes:
            chrome.get(server + route.format(coop=coop, member=member))
            _wait_for(chrome, "main h1")
            assert ("Erreur 403" in _heading(chrome)) is not allowed, route
    chrome.get(f"{server}/admin/overdue")
    text = _wait_for(chrome, "#overdue-table").text
    assert "Aïssatou Diop" in text and "Aissatou Fall" not in text
    chrome.get(f"{server}/admin/search?q=aissatou")
    found = _wait_for(chrome, "#search-members").text
    assert "Aïssatou Diop" in found and "Aissatou Fall" not in found
    chrome.get(f"{server}/simulator/")
    _wait_for(chrome, "#member-select")
    options = chrome.find_element(By.ID, "member-select").text
    assert "Aïssatou Diop" in options and "Aissatou Fall" not in options
    chrome.get(f"{server}/admin/broadcast")
    coops = _wait_for(chrome, "#broadcast-coop").text
    assert "GIE Keur Massar" in coops and "GIE Ndiambour" not in coops
    for name in ("portfolio", "savings", "production"):
        chrome.get(f"{server}/admin/exports/{name}.csv?cooperative={outside}")
        _wait_for(chrome, "main h1")
        assert "Erreur 403" in _heading(chrome), name


def test_the_regional_overview_shows_every_section_of_its_region_alone(
    server, chrome, programme, db, runtime
):
    """Every section is on a Thiès coordinator's overview, each with Thiès's figures, none of Louga's."""
    from selenium.webdriver.common.by import By

    kms, ndb = db.get(Cooperative, programme["kms"]), db.get(Cooperative, programme["ndb"])
    awa, louga = db.get(Member, programme["awa"]), db.get(Member, programme["louga"])
    mil = db.scalar(select(Product).where(Product.cooperative_id == kms.id))
    niebe = f.product(db, ndb, "Niébé", "kg")
    for member, product, quantity in ((awa, mil, 30), (louga, niebe, 700)):
        production.save_report(
            db,
            member_id=member.id,
            product_id=product.id,
            quantity=quantity,
            week=production.Week(2026, 46),
            now=DEFAULT_NOW,
            idempotency_key=None,
            source=Source.CLI,
        )
    # A reminder each (its effect), and billed SMS: one in Thiès, three in Louga.
    for coop, member, kinds in (
        (kms, awa, [SmsKind.REMINDER]),
        (ndb, louga, [SmsKind.REMINDER] + [SmsKind.RECEIPT] * 2),
    ):
        for kind in kinds:
            sms = queue_sms(
                db,
                to=member.phone,
                text="Rappel",
                kind=kind,
                language="fr",
                now=datetime(2026, 11, 10, 9, tzinfo=UTC),
                cooperative_id=coop.id,
                member_id=member.id,
            )
            sms.status = SmsStatus.DELIVERED
            db.flush()
            if kind == SmsKind.REMINDER:
                first = db.scalar(
                    select(Instalment.id)
                    .join(Loan)
                    .where(Loan.member_id == member.id)
                    .order_by(Instalment.number)
                )
                db.add(
                    ReminderSent(
                        instalment_id=first, rule="M-3", day=date(2026, 11, 10), outbound_sms_id=sms.id
                    )
                )
    db.commit()
    thies = Scope(region="Thiès").cooperative_ids(db)
    board = dashboard(
        db,
        Month(2026, 11),
        date(2026, 12, 1),
        daily_budget=runtime.config.SMS_DAILY_BUDGET,
        cooperative_ids=thies,
    )
    db.rollback()

    _log_in(chrome, server, "thies@mbolo.sn")
    chrome.get(f"{server}/admin/?month=2026-11")
    _wait_for(chrome, "#cooperatives-table")
    shown = {}
    for ident in SECTIONS:
        element = chrome.find_element(By.ID, ident)  # a hidden section has no element: the test fails
        assert element.is_displayed(), ident
        shown[ident] = element.text
    assert shown == _expected(board)
    for table in TABLES:
        assert chrome.find_element(By.ID, table).is_displayed(), table
    production_table = chrome.find_element(By.ID, "production-table").text
    assert "Mil (kg)" in production_table and "30" in production_table and "Niébé" not in production_table
    assert "Région Thiès" in _heading(chrome)
    assert "GIE Ndiambour" not in chrome.find_element(By.TAG_NAME, "main").text
    _shot(chrome, "21-region-overview-sections")
    _log_in(chrome, server, "coord@mbolo.sn")
    chrome.get(f"{server}/admin/?month=2026-11")
    assert "Niébé" in _wait_for(chrome, "#production-table").text
    assert chrome.find_element(By.ID, "fig-sms-cost").text != shown["fig-sms-cost"]


def test_search_box_member_list_paging_and_cooperatives_sort(server, chrome, programme):
    """A phone typed the local way finds the member; the member list pages; the table sorts by PAR30."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _log_in(chrome, server, "coord@mbolo.sn")
    box = chrome.find_element(By.CSS_SELECTOR, ".quick-search input")
    box.send_keys("77 123 45 67", Keys.ENTER)
    found = _wait_for(chrome, "#members-found").text
    assert "Aïssatou Diop" in found and "GIE Keur Massar" in found
    _shot(chrome, "22-search")
    chrome.find_element(By.CSS_SELECTOR, "a.member-hit").click()
    _wait_for(chrome, "#member-outstanding")

    chrome.get(f"{server}/admin/cooperatives/{programme['kms']}")
    members = _wait_for(chrome, "#members-table").text
    assert (
        "M0001 · Aïssatou Diop" in members and "Ndeye Sarr 50" in members and "Ndeye Sarr 51" not in members
    )
    chrome.find_element(By.CSS_SELECTOR, "#members-pager a[rel=next]").click()
    _wait_text(chrome, "#members-pager", "Page 2 / 2")
    assert "Ndeye Sarr 61" in chrome.find_element(By.ID, "members-table").text
    _shot(chrome, "23-member-list-page-2")

    chrome.get(f"{server}/admin/?sort=-par30")
    rows = _wait_for(chrome, "#cooperatives-table").find_elements(By.CSS_SELECTOR, "tbody tr")
    names = [row.find_element(By.CSS_SELECTOR, "a.coop-link").text for row in rows]
    assert names[0] == "GIE Tivaouane"  # the only one more than 30 days late
    chrome.get(f"{server}/admin/?q=ndiam")
    rows = _wait_for(chrome, "#cooperatives-table").find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [row.find_element(By.CSS_SELECTOR, "a.coop-link").text for row in rows] == ["GIE Ndiambour"]
    chrome.get(f"{server}/admin/?region=thies&sort=members")
    rows = _wait_for(chrome, "#cooperatives-table").find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [row.find_element(By.CSS_SELECTOR, "a.coop-link").text for row in rows] == [
        "GIE Tivaouane",
        "GIE Keur Massar",
    ]
    _shot(chrome, "24-cooperatives-sorted")


def test_broadcast_preview_then_confirm(server, chrome, programme, db):
    """The dry run shows the count, segments and cost; nothing is written until Confirm; then audited."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _log_in(chrome, server, "thies@mbolo.sn")
    chrome.get(f"{server}/admin/broadcast")
    _wait_for(chrome, "#broadcast-form")
    chrome.find_element(By.CSS_SELECTOR, "input[name=kind][value=region]").click()
    Select(chrome.find_element(By.ID, "broadcast-region")).select_by_visible_text("Thiès")
    chrome.find_element(By.ID, "broadcast-arrears").click()
    chrome.find_element(By.ID, "text_fr").send_keys("Fête : payez votre échéance avant samedi")
    chrome.find_element(By.ID, "broadcast-preview-button").click()
    _wait_for(chrome, "#broadcast-preview")
    assert chrome.find_element(By.ID, "broadcast-count").text == "2"
    assert "ê" in chrome.find_element(By.ID, "fold-fr").text
    _shot(chrome, "25-broadcast-preview")
    count = select(func.count()).select_from(OutboundSms)
    assert db.scalar(count) == 0
    db.rollback()
    chrome.find_element(By.CSS_SELECTOR, "#broadcast-confirm button").click()
    _wait_for(chrome, "#broadcast-sent")
    assert db.scalar(count) == 2
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "broadcast"))
    assert event.actor == "user:thies@mbolo.sn" and event.after["arrears_only"] is True
    db.rollback()
    _shot(chrome, "26-broadcast-sent")


def test_overdue_list_at_390px(server, chrome, programme):
    """At 390 px nothing runs off the side and "days late" is on screen for every member."""
    from selenium.webdriver.common.by import By

    _log_in(chrome, server, "coord@mbolo.sn")
    chrome.set_window_size(390, 844)
    chrome.get(f"{server}/admin/overdue")
    _wait_for(chrome, "#overdue-table")
    overflow = chrome.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    width = chrome.execute_script("return window.innerWidth")
    cells = chrome.find_elements(By.CSS_SELECTOR, "#overdue-table td.days-late")
    assert len(cells) == 3
    for cell in cells:
        rect = cell.rect
        assert rect["x"] >= 0 and rect["x"] + rect["width"] <= width, rect
        assert cell.is_displayed() and cell.text.isdigit()
    _shot(chrome, "27-overdue-390px", width=390)
