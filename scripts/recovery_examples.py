"""Print, as Markdown, what recovery looks like over 200 days: reminders, a digest, RETARDS, PROMESSE.

    .venv/bin/python scripts/recovery_examples.py > /tmp/examples.md

Runs the real planner day by day on a scratch SQLite database (nothing else is touched): a weekly
loan and a monthly loan never repaid, in French and in Wolof, a cooperative with a treasurer
(French) and a president (Wolof); then the officers' RETARDS and PROMESSE go through the real SMS
command handler. The texts in docs/recovery.md were produced by this script.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from config.settings import Config
from models import Cooperative, InboundSms, Member, OutboundSms, member_key
from models.arrears import members_in_arrears
from models.clock import DAKAR
from models.database import make_engine, make_session_factory
from models.enums import Frequency, InboundStatus, Role, SmsKind
from models.ledger import create_loan
from models.migrate import upgrade
from sms import arrears_list
from sms.commands import handle
from sms.reminders import planner
from sms.sending_hours import SendingHours

START = date(2026, 12, 1)
CODE = "*384*123#"


def _member(session, coop, number, name, phone, language, role=Role.MEMBER) -> Member:
    now = datetime(2026, 11, 1, tzinfo=DAKAR)
    m = Member(
        cooperative_id=coop.id,
        member_no=number,
        member_key=member_key(number),
        name=name,
        phone=phone,
        role=role,
        language=language,
        created_at=now,
        updated_at=now,
    )
    session.add(m)
    session.flush()
    return m


def main() -> None:
    """Build the scene, walk 200 days, print the texts."""
    folder = Path(tempfile.mkdtemp())
    engine = make_engine(f"sqlite:///{folder / 'examples.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    now = datetime(2026, 11, 1, tzinfo=DAKAR)
    with sessions() as s, s.begin():
        coop = Cooperative(name="GIE Ndiambour", code="NDB", commune="Louga", region="Louga", created_at=now)
        s.add(coop)
        s.flush()
        _member(s, coop, "T01", "Fatou Sarr", "+221770001001", "fr", Role.TREASURER)
        _member(s, coop, "P01", "Moussa Faye", "+221770001002", "wo", Role.PRESIDENT)
        awa = _member(s, coop, "M0012", "Awa Diop", "+221770001012", "fr")
        modou = _member(s, coop, "M0031", "Modou Ndiaye", "+221770001031", "wo")
        for who, ref, frequency, first in (
            (awa, "L-2031", Frequency.WEEKLY, START + timedelta(days=2)),
            (modou, "L-2044", Frequency.MONTHLY, START + timedelta(days=3)),
        ):
            create_loan(
                s,
                member=who,
                reference=ref,
                principal=60_000,
                interest=6_000,
                disbursed_on=first - timedelta(days=7),
                installments=12,
                frequency=frequency,
                first_due_on=first,
                now=now,
            )
    hours = SendingHours(tz=DAKAR)
    day = START
    while day <= START + timedelta(days=200):
        with sessions() as s, s.begin():
            planner.run_day(s, datetime(day.year, day.month, day.day, 9, 5, tzinfo=DAKAR), hours, 15, CODE)
        day += timedelta(days=1)
    with sessions() as s:
        rows = s.scalars(select(OutboundSms).order_by(OutboundSms.id)).all()
        for who, title in (
            ("+221770001012", "Awa (French, weekly loan)"),
            ("+221770001031", "Modou (Wolof, monthly loan)"),
        ):
            print(f"### {title}: every reminder over 200 days\n")
            print("| day | SMS |\n|---|---|")
            for r in rows:
                if r.to == who and r.kind == SmsKind.REMINDER:
                    print(f"| {r.send_after.astimezone(DAKAR):%d/%m/%Y} | {r.text} |")
            print()
        digests = [r for r in rows if r.kind == SmsKind.DIGEST and r.to == "+221770001001"]
        print(f"### The treasurer's Monday digest ({digests[-1].send_after.astimezone(DAKAR):%d/%m/%Y})\n")
        print("```\n" + digests[-1].text + "\n```\n")
        late = members_in_arrears(s, START + timedelta(days=200))
        for language in ("fr", "wo"):
            print(f"### `RETARDS` reply ({language})\n")
            print("```\n" + arrears_list.pages(language, "NDB", late)[0].text + "\n```\n")
    _commands(sessions, START + timedelta(days=200))


class _Runtime:
    config = Config()


def _commands(sessions, day: date) -> None:
    """The officers' RETARDS and PROMESSE through sms.commands.handle, with every SMS they cause."""
    now = datetime(day.year, day.month, day.day, 10, 0, tzinfo=DAKAR)
    promised = (day + timedelta(days=9)).strftime("%d/%m")
    exchanges = (
        (
            "fr",
            "+221770001001",
            ["RETARDS M0012", f"PROMESSE M12 20000 {promised}", "PROMESSE M12 5000 01/01"],
        ),
        ("wo", "+221770001002", ["RETARDS M0031", f"PROMESSE M31 15000 {promised}", "RETARDS x"]),
    )
    for n, (language, phone, texts) in enumerate(exchanges):
        print(f"### `RETARDS M…` and `PROMESSE` ({language}, {day:%d/%m/%Y})\n")
        for k, body in enumerate(texts):
            with sessions() as s:
                inbound = InboundSms(
                    gateway_id=f"example-{n}-{k}",
                    from_phone=phone,
                    text=body,
                    received_at=now,
                    status=InboundStatus.RECEIVED,
                    attempts=0,
                )
                s.add(inbound)
                s.commit()
                first = s.scalar(select(func.max(OutboundSms.id))) or 0
                sender = s.scalar(select(Member).where(Member.phone == phone))
                handle(s, inbound, sender, now, _Runtime)
                s.commit()
                sent = s.scalars(select(OutboundSms).where(OutboundSms.id > first).order_by(OutboundSms.id))
                print(f"> `{body}`\n")
                for row in sent:
                    who = "reply" if row.to == phone else f"to the member ({row.language})"
                    print(f"- {who}: `{row.text}`")
                print()


if __name__ == "__main__":
    main()
