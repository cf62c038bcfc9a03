"""The longest realistic value of each placeholder an SMS text holds, to measure texts against their limit.

Names are cut as the SMS code cuts them ("Ndeye Fatou Diop Nd. (M0012)"), amounts reach millions
of F, references and product names are the longest the product has seen. USSD screens are measured
on the screens themselves (ussd_app/tour.py), not with this table.
"""

from __future__ import annotations

import string

LONGEST: dict[str, object] = {
    "coop": "NDB",
    "member": "Ndeye Fatou Diop Nd. (M0012)",
    "treasurer": "Mamadou Lamine Sa. (T0001)",
    "who": "Mamadou Lamine Sa. (T0001)",
    "name": "Ndeye Fatou Ndiaye Diop Sarr",
    "amount": "150 000 F",
    "outstanding": "1 250 000 F",
    "balance": "1 250 000 F",
    "savings": "1 250 000 F",
    "remaining": "1 250 000 F",
    "overdue": "12 500 000 F",
    "max": "1 250 000 F",
    "day": "03/12",
    "date": "03/12",
    "start": "30/11",
    "end": "06/12",
    "receipt": "R00015X",
    "code": "4821",
    "old_code": "1234",
    "old": "1234",
    "minutes": 29,
    "days": 120,
    "tries": 2,
    "low": 1,
    "high": 100000,
    "last": "67",
    "keyword": "RETRAIT",
    "loan": "L-2026-001",
    "ref": "KMS-2026-00142",
    "product": "Couscous de mil enrichi au niébé",
    "quantity": "100 000",
    "unit": "litre",
    "note": "",
    "detail": "ABCDEFGHIJKLMNOPQRST",
    "problem": "Montant ABCDEFGHIJKLMNOPQRST non reconnu.",
    "syntax": "PAY <membre> <montant> [pret] [JJ/MM]",
    "example": "PAY M12 5000",
    "ussd": "*384*12345#",
    "again": "PAY 77 000 00 07 5 OK",
    "count": 12,
    "items": "4821 M0012 150 000 F; 4822 M0013 150 000 F; 4823 M0014 150 000 F; +9",
    "time": "23:59",
    "left": "12 500 000 F",
    "late": "12 500 000 F",
    "summary": "Reste 12 500 000 F, dont 12 500 000 F en retard.",
    "replaces": "",
}


def longest_values(text: str) -> dict[str, object]:
    """The longest value of each `{placeholder}` of a text ("X" for one the table lacks)."""
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return {name: LONGEST.get(name, "X" * 20) for name in names}
