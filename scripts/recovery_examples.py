"""Print, as Markdown, what recovery looks like over 200 days: one member's reminders, a digest, RETARDS.

    .venv/bin/python scripts/recovery_examples.py > /tmp/examples.md

Runs the real planner day by day on a scratch SQLite database (nothing else is touched): a weekly
loan and a monthly loan never repaid, in French and in Wolof, a cooperative with a treasurer. The
texts in docs/recovery.md were produced by this script.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from models import Cooperative, Member, OutboundSms
from models.arrears import members_in_arrears
from models.clock import DAKAR
from models.database import make_engine, make_session_factory
from models.enums import Frequency, Role, SmsKind
from models.ledger import create_loan
from models.migrate import upgrade
from sms import arrears_list
from sms.reminders import planner
from sms.sending_hours import SendingHours

START = date(2026, 12, 1)
CODE = "*384*123#"


def _member(session, coop, number, name, phone, language, role=Role.MEMBER) -> Member:
    now = datetime(2026, 11, 1, tzinfo=DAKAR)
    m = Member(
        cooperative_id=coop.id,
        member_no=number,
        member_key=number,
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
        digests = [r for r in rows if r.kind == SmsKind.DIGEST]
        print(f"### The treasurer's Monday digest ({digests[-1].send_after.astimezone(DAKAR):%d/%m/%Y})\n")
        print("```\n" + digests[-1].text + "\n```\n")
        late = members_in_arrears(s, START + timedelta(days=200))
        for language in ("fr", "wo"):
            print(f"### `RETARDS` reply ({language})\n")
            print("```\n" + arrears_list.pages(language, "NDB", late)[0].text + "\n```\n")


if __name__ == "__main__":
    main()
