"""POST /ussd and /ussd/events: token, size cap, service codes, odd forms, outages — never a 5xx."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from models import UssdEvent
from models.database import make_engine, make_session_factory
from sms.runtime import redis_client
from tests import factories as f
from tests.phone import Phone, give_pin

PIN = "4827"
FORM = {"sessionId": "ATUid_1", "serviceCode": "*384*123#", "phoneNumber": "+221771234567", "text": ""}


@pytest.fixture
def member(db):
    coop = f.coop(db)
    m = f.member(db, coop, phone="+221771234567", language="wo")
    give_pin(db, m, PIN, "test-pin-secret")
    return m


@pytest.fixture
def locked_app(runtime, monkeypatch):
    """The app with a current and a previous webhook token and one service code."""
    from ussd_app import create_app

    config = replace(
        runtime.config,
        WEBHOOK_TOKEN="new-token",
        WEBHOOK_TOKEN_PREVIOUS="old-token",
        USSD_SERVICE_CODES=("*384*123#",),
    )
    monkeypatch.setattr(runtime, "config", config)
    return create_app(runtime=runtime)


def test_a_hop_answers_text_plain_con(client, member):
    """200, text/plain, CON + the PIN screen in the member's language."""
    response = client.post("/ussd", data=FORM)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "CON Mbolo. Bindal sa kod PIN:"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 403),
        ("?token=wrong", 403),
        ("?token=new-token", 200),
        ("?token=old-token", 200),
        ("?token=new-tokenX", 403),
    ],
)
def test_the_token_is_required_current_or_previous(locked_app, member, query, status):
    """Without the current or the previous token: 403, on both endpoints."""
    client = locked_app.test_client()
    assert client.post("/ussd" + query, data=FORM).status_code == status
    assert client.post("/ussd/events" + query, data={"sessionId": "x"}).status_code == status


def test_bodies_over_4_kb_are_refused(client, member):
    """413 whether the length is announced or not."""
    big = dict(FORM, text="1" * 5000)
    assert client.post("/ussd", data=big).status_code == 413
    assert client.post("/ussd/events", data=big).status_code == 413


def test_an_unknown_service_code_ends(locked_app, member):
    """A code outside USSD_SERVICE_CODES: END."""
    client = locked_app.test_client()
    body = client.post("/ussd?token=new-token", data=dict(FORM, serviceCode="*999#")).get_data(as_text=True)
    assert body.startswith("END ")


@pytest.mark.parametrize(
    "form",
    [
        {},
        dict(FORM, phoneNumber=""),
        dict(FORM, phoneNumber="abc"),
        dict(FORM, phoneNumber="+2217712"),
        dict(FORM, sessionId=""),
        dict(FORM, sessionId="s" * 500),
        {k: v for k, v in FORM.items() if k != "phoneNumber"},
    ],
)
def test_missing_or_odd_fields_end_the_session_in_french(client, member, form):
    """No valid phone or session: END with the French apology, 200."""
    response = client.post("/ussd", data=form)
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("END Service momentan")


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    form=st.dictionaries(
        st.sampled_from(["sessionId", "phoneNumber", "text", "serviceCode", "x"]),
        st.text(max_size=60),
        max_size=5,
    )
)
def test_whatever_the_form_holds_a_hop_never_answers_5xx(client, member, form):
    """Random forms: always 200 with CON or END."""
    response = client.post("/ussd", data=form)
    assert response.status_code == 200
    assert response.get_data(as_text=True)[:4] in ("CON ", "END ")


def test_redis_down_answers_the_french_apology(app, client, member, monkeypatch):
    """Redis unreachable (nothing listens on the port): END + apology; the member is not known yet: French."""
    monkeypatch.setattr(app.extensions["mbolo"], "redis", redis_client("redis://127.0.0.1:1/0"))
    response = client.post("/ussd", data=FORM)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == (
        "END Service momentanément indisponible. Merci de réessayer plus tard."
    )


def test_database_down_mid_session_apologises_in_the_members_language(app, client, member, monkeypatch):
    """The session knows the member speaks Wolof: the apology is in Wolof."""
    phone = Phone(client, "+221771234567")
    phone.dial()
    phone.press(PIN)
    rt = app.extensions["mbolo"]
    dead = make_engine("postgresql://postgres@127.0.0.1:1/none")
    monkeypatch.setattr(rt, "sessions", make_session_factory(dead))
    text = phone.press("1")
    assert phone.ended
    assert text == "Sarwiis bi jappul léegi. Jéemaatal ci kanam."


def test_database_down_at_the_first_dial_apologises_in_french(app, client, member, monkeypatch):
    """Unknown language yet: French."""
    dead = make_session_factory(make_engine("postgresql://postgres@127.0.0.1:1/x"))
    monkeypatch.setattr(app.extensions["mbolo"], "sessions", dead)
    assert client.post("/ussd", data=FORM).get_data(as_text=True).startswith("END Service momentan")


def test_end_of_session_events_are_stored_without_their_input(client, db):
    """The notice is kept for operators; `input` (it holds the PIN) is dropped."""
    response = client.post(
        "/ussd/events",
        data={
            "sessionId": "ATUid_9",
            "phoneNumber": "+221771234567",
            "status": "Success",
            "input": "4827*1",
            "durationInMillis": "23000",
            "hopsCount": "3",
        },
    )
    assert response.status_code == 200
    event = db.scalars(select(UssdEvent)).one()
    assert event.session_id == "ATUid_9"
    assert event.phone == "+221771234567"
    assert event.status == "Success"
    assert "input" not in event.payload
    assert event.payload["hopsCount"] == "3"
    assert "4827" not in str(event.payload)
