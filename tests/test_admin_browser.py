"""The coordinator pages and the simulator in headless Chromium (Debian's chromium + chromium-driver).

Run only when MBOLO_BROWSER_TESTS=1 or in CI's PostgreSQL pass (MBOLO_CI_PASS=postgres); the app
is served by werkzeug's `make_server` in a thread on a free port. Each page's screenshot is saved
under test-artifacts/.
"""

from __future__ import annotations

import base64
import csv
import os
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from models.admin_user import create_user
from models.enums import Role
from tests import factories as f
from tests.conftest import DEFAULT_NOW

ENABLED = os.environ.get("MBOLO_BROWSER_TESTS") == "1" or os.environ.get("MBOLO_CI_PASS") == "postgres"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not ENABLED, reason="browser tests run with MBOLO_BROWSER_TESTS=1 or in CI's PostgreSQL pass"
    ),
]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "coordinator-password"
WAIT = 20  # seconds a page may take to show an element (a wait for the browser, not a timed assertion)


@pytest.fixture
def live_server(app):
    """The app on a free local port, served from a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium driven by the distribution's chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMEDRIVER).exists(), (
        "install chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    yield driver
    driver.quit()


def _shot(driver, name: str, width: int = 1280) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(900, min(int(height) + 40, 6000)))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _wait_for(driver, css: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _wait_text(driver, css: str, fragment: str) -> str:
    """The element's text once it holds `fragment` (a timeout fails the test).

    The page replaces the screen while we read it: Chromium then reports the node as stale, or as
    "Node with given id does not belong to the document" (a plain WebDriverException), so both are
    read again until the wait ends, and the text returned is the one that was checked.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def holding(d):
        text = d.find_element(By.CSS_SELECTOR, css).text
        return text if fragment in text else False

    return WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(holding)


@pytest.fixture
def demo(db):
    """A demo cooperative with a borrower and a treasurer, another cooperative, a coordinator."""
    coop = f.coop(db, "GIE Ndiambour", "NDB", demo=True)
    other = f.coop(db, "GIE Saloum", "SLM")
    awa = f.member(db, coop, "M0001", "Awa Diop", phone="+221771234567", savings=15_000)
    f.loan(
        db, awa, "L-001", principal=100_000, interest=10_000, installments=10, first_due_on=date(2026, 10, 1)
    )
    treasurer = f.member(db, coop, "M0002", "Fatou Ndiaye", phone="+221772222222", role=Role.TREASURER)
    f.member(db, other, "M0001", "Binta Sarr", phone="+221773333333")
    create_user(db, email="coord@mbolo.sn", password=PASSWORD, role="coordinator", now=DEFAULT_NOW)
    db.commit()
    ids = {"coop": coop.id, "awa": awa.id, "treasurer": treasurer.id}
    db.close()  # SQLite: no transaction of the test's may hold the lock while the server writes
    return ids


def _log_in(driver, base: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/admin/")
    _wait_for(driver, "#email")
    _shot(driver, "01-login")
    driver.find_element(By.ID, "email").send_keys("coord@mbolo.sn")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    _wait_for(driver, "#dashboard-title")


def test_dashboard_cooperative_and_overdue_csv(live_server, browser, demo):
    """Log in, see the dashboard and its charts, open a cooperative, export the overdue CSV."""
    from selenium.webdriver.common.by import By

    _log_in(browser, live_server)
    assert "Toutes les coopératives" in browser.find_element(By.ID, "dashboard-title").text
    for chart in ("chart-history", "chart-ageing", "chart-par30", "chart-reminders"):
        assert browser.find_elements(By.CSS_SELECTOR, f"#{chart} svg rect"), chart
    assert browser.find_element(By.ID, "fig-outstanding").text == "110 000 F"
    _shot(browser, "02-dashboard")
    # On a phone-sized screen nothing runs off the side (charts scale, wide tables scroll in place).
    browser.set_window_size(390, 844)
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    _shot(browser, "02-dashboard-phone", width=390)
    pdf = browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"]
    (ARTIFACTS / "02-dashboard-print.pdf").write_bytes(base64.b64decode(pdf))

    browser.find_element(By.LINK_TEXT, "GIE Ndiambour").click()
    _wait_text(browser, "#dashboard-title", "GIE Ndiambour")
    assert browser.find_element(By.ID, "fig-par30").text == "100,0 %"
    _shot(browser, "03-cooperative")

    browser.find_element(By.ID, "overdue-link").click()
    _wait_for(browser, "#overdue-table")
    assert "Awa Diop" in browser.find_element(By.ID, "overdue-table").text
    _shot(browser, "04-overdue")

    browser.find_element(By.ID, "overdue-csv").click()
    deadline = time.monotonic() + WAIT
    files: list[Path] = []
    while time.monotonic() < deadline:  # waiting for the browser to finish writing the download
        files = [p for p in browser.downloads.glob("*.csv")]
        if files:
            break
        time.sleep(0.2)
    assert files, "the CSV was not downloaded"
    rows = list(csv.DictReader(files[0].read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert [(r["member_no"], r["overdue"], r["days_late"]) for r in rows] == [("M0001", "22000", "61")]

    browser.find_element(By.LINK_TEXT, "M0001 · Awa Diop").click()
    _wait_for(browser, "#member-outstanding")
    assert browser.find_element(By.ID, "member-outstanding").text == "110 000 F"
    _shot(browser, "05-member")


def _take_phone(driver, base: str, member_id: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(f"{base}/simulator/")
    Select(driver.find_element(By.ID, "member-select")).select_by_value(str(member_id))
    driver.find_element(By.ID, "take-phone").click()
    _wait_for(driver, "#dial")


def _press(driver, entry: str, expect: str) -> str:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, "entry")
    field.send_keys(entry)
    driver.find_element(By.ID, "send-key").click()
    return _wait_text(driver, "#screen", expect)


def test_simulator_pin_balance_and_treasurer_payment(live_server, browser, demo):
    """Dial as a member, set a PIN, read the balance; PAY as the treasurer; balance and receipt change."""
    from selenium.webdriver.common.by import By

    _log_in(browser, live_server)
    _take_phone(browser, live_server, demo["awa"])
    _shot(browser, "06-simulator")
    browser.find_element(By.ID, "dial").click()
    _wait_text(browser, "#screen", "Choisissez votre code PIN")
    _press(browser, "4826", "Tapez encore")
    _press(browser, "4826", "Solde")
    screen = _press(browser, "1", "110 000 F")  # outstanding
    assert "15 000 F" in screen  # savings
    _shot(browser, "07-simulator-balance")

    _take_phone(browser, live_server, demo["treasurer"])
    browser.find_element(By.ID, "sms-body").send_keys("PAY M0001 5000")
    browser.find_element(By.ID, "sms-submit").click()
    thread = _wait_text(browser, "#thread", "Recu R")
    assert "PAY M0001 5000" in thread
    assert "5 000 F" in thread
    _shot(browser, "08-simulator-treasurer")

    _take_phone(browser, live_server, demo["awa"])
    thread = _wait_text(browser, "#thread", "Recu R")
    assert "105 000 F" in thread  # the receipt gives the new outstanding
    browser.find_element(By.ID, "dial").click()
    _wait_text(browser, "#screen", "Entrez votre code PIN")
    _press(browser, "4826", "Solde")
    _press(browser, "1", "105 000 F")
    _shot(browser, "09-simulator-after-payment")


@pytest.fixture
def year(db):
    """Three cooperatives with a year of monthly loans: punctual, late and stopping payers; snapshots."""
    from datetime import UTC, datetime, timedelta

    from models.enums import SmsKind, SmsStatus, Source
    from models.ledger import record_repayment
    from models.messaging import ReminderSent
    from models.portfolio.snapshots import backfill
    from sms.outbox import queue_sms

    coops = [
        f.coop(db, name, code)
        for name, code in (("GIE Kaffrine", "KFR"), ("GIE Matam", "MTM"), ("GIE Fatick", "FTK"))
    ]
    for c, coop in enumerate(coops):
        for k in range(6):
            person = f.member(db, coop, f"M{k + 1:04d}", f"Membre {c}{k}", phone=f"+2217760{c}{k:04d}")
            loan = f.loan(
                db,
                person,
                f"L-{coop.code}-{k}",
                principal=120_000,
                interest=0,
                installments=12,
                disbursed_on=date(2025, 12, 1),
                first_due_on=date(2026, 1, 5 + 4 * k),
            )
            for inst in loan.instalments:
                if inst.due_on >= date(2026, 12, 1):
                    break
                delay = k * 4 + (inst.number % 3) * 3 + c * 2 - 6  # some early, some weeks late
                stop = 12 - 2 * c - (k % 3)  # payers stop earlier in the later cooperatives
                paid_on = inst.due_on + timedelta(days=delay)
                if delay > 0 and inst.number % 2:
                    day = inst.due_on + timedelta(days=1)
                    sms = queue_sms(
                        db,
                        to=person.phone,
                        text="Rappel",
                        kind=SmsKind.REMINDER,
                        language="fr",
                        now=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                        cooperative_id=coop.id,
                        member_id=person.id,
                    )
                    sms.status = SmsStatus.DELIVERED
                    db.flush()
                    db.add(ReminderSent(instalment_id=inst.id, rule="M+1", day=day, outbound_sms_id=sms.id))
                if inst.number > stop or paid_on >= date(2026, 12, 1):
                    continue
                record_repayment(
                    db,
                    member=person,
                    amount=10_000,
                    paid_on=paid_on,
                    now=datetime.combine(paid_on, datetime.min.time(), tzinfo=UTC),
                    source=Source.CLI,
                )
    backfill(db, date(2026, 12, 1), DEFAULT_NOW)
    create_user(db, email="coord@mbolo.sn", password=PASSWORD, role="coordinator", now=DEFAULT_NOW)
    db.commit()
    ids = {"coop": coops[2].id, "member": person.id}
    db.close()
    return ids


def test_figures_definitions_and_the_twelve_month_series(live_server, browser, year):
    """The definitions are on the pages; the 12-month series draw; the table sorts by PAR30 and rate."""
    from selenium.webdriver.common.by import By

    _log_in(browser, live_server)
    browser.get(f"{live_server}/admin/cooperatives/{year['coop']}?definitions=1")
    _wait_for(browser, "#series-table")
    definitions = browser.find_element(By.ID, "definitions").text
    for words in ("Taux de recouvrement", "jusqu'à aujourd'hui", "PAR1, PAR30, PAR90", "7 jours"):
        assert words in definitions, words
    for chart in ("chart-series-rate", "chart-series-on-time", "chart-series-par30"):
        assert browser.find_elements(By.CSS_SELECTOR, f"#{chart} svg polyline"), chart
    rows = browser.find_elements(By.CSS_SELECTOR, "#series-table tbody tr")
    assert len(rows) == 12 and rows[0].text.startswith("2026-01") and rows[-1].text.startswith("2026-12")
    assert all("–" not in row.text.split()[-2:] for row in rows[1:11])  # every past month has its PAR30
    assert browser.find_elements(By.CSS_SELECTOR, "#reminder-effect tbody tr")
    _shot(browser, "10-figures-cooperative")
    series = browser.find_element(By.ID, "series")
    browser.execute_script("arguments[0].scrollIntoView()", series)
    series.screenshot(str(ARTIFACTS / "10-figures-series.png"))

    browser.get(f"{live_server}/admin/?month=2026-11")
    _wait_for(browser, "#cooperatives-table")
    browser.find_element(By.ID, "sort-par30").click()
    _wait_for(browser, "#sort-par30.current")
    names = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#cooperatives-table .coop-link")]
    par30 = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#cooperatives-table td.par30")]
    values = [float(v.replace(" %", "").replace(",", ".")) for v in par30]
    assert values == sorted(values, reverse=True) and names[0] == "GIE Fatick"
    browser.find_element(By.ID, "sort-rate").click()
    _wait_for(browser, "#sort-rate.current")
    rates = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#cooperatives-table td.rate")]
    numbers = [float(v.replace(" %", "").replace(",", ".")) for v in rates]
    assert numbers == sorted(numbers, reverse=True)
    _shot(browser, "11-overview-series-and-sort")

    browser.get(f"{live_server}/admin/members/{year['member']}")
    _wait_for(browser, "#member-on-time")
    assert browser.find_elements(By.CSS_SELECTOR, "td.punctuality .tag")
    _shot(browser, "12-member-punctuality")
