"""2 Report production: product (paged list) → quantity → confirmation → saved.

See docs/design.md, "Production reports".

The task keeps its state in ctx under short `p…` keys: `pp` the product id, `pq` the quantity,
`pw` the week (`2026-W49`), `pk` the idempotency key, `pr` the saved reference and `po` the one
it superseded. `pk` is the (sessionId, step) key of the hop that chose the product, kept in ctx so
that a confirmation replayed, or repeated after a resumed session (which has a new sessionId),
finds the report it already saved instead of adding a second one. "Another product" starts a new
task with a new key.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from i18n.catalog import N_
from i18n.gsm7 import fold
from menus.hop import Hop
from menus.screens import Choice, Decide, Invalid, Option, Screen
from models.activity import ProductionReport
from models.cooperative import Product
from models.enums import SmsKind
from models.errors import NotFound, Refused
from models.production import (
    MAX_QUANTITY,
    ProductLine,
    Reporter,
    Week,
    product_and_current,
    product_line,
    products_of,
    reportable_weeks,
    save_report,
)

# Product names may hold 60 characters; with 40 the confirmation and saved screens stay within
# 160 characters in every language, with a 20-character unit and a 6-digit quantity.
NAME_ROOM = 40
TASK_KEYS = ("pp", "pq", "pw", "pk", "pr", "po")


def display_name(name: str) -> str:
    """A product name for screens and SMS: GSM-7 (Pâte → Pate), beyond 40 characters cut after a word.

    A cut after a whole word reads as a name ("Couscous de mil enrichi au niébé"); only a single
    word longer than the room is cut in the middle, marked with a '.'.
    """
    name = fold(" ".join(name.split()))
    if len(name) <= NAME_ROOM:
        return name
    words = name[: NAME_ROOM + 1].split(" ")
    if len(words) == 1:
        return name[: NAME_ROOM - 1] + "."
    words.pop()  # cut in the middle, or empty when the cut fell on a space
    # "… au niébé de" reads badly: drop dangling short words (de, au, en, du).
    while len(words) > 1 and len(words[-1]) <= 3:
        words.pop()
    return " ".join(words).rstrip(" ,;:-'")


def format_quantity(quantity: int) -> str:
    """1200 → `1 200` (ASCII space, as amounts)."""
    return f"{quantity:,}".replace(",", " ")


# --- product list ------------------------------------------------------------------------------


def product_choices(hop: Hop) -> list[Choice]:
    """The cooperative's products by name, in one statement.

    It also sets the screen's title (the engine formats the text after the list): the question,
    or a clear message when the cooperative has no products yet.
    """
    assert hop.identity is not None
    products = products_of(hop.db, hop.identity.cooperative_id)
    hop.memo[PRODUCTS] = {p.id: p for p in products}
    if products:
        hop.view["title"] = hop.t(N_("Déclarer production. Quel produit ?"))
    else:
        hop.view["title"] = hop.t(
            N_("Votre coopérative n'a pas encore de produits à déclarer. Voyez votre trésorier.")
        )
    choices = [Choice(display_name(p.name), p.id) for p in products]
    if products:
        choices.append(Choice(hop.t(N_("Mes déclarations")), MINE))
    return choices


MINE = "mine"  # the last choice of the list: the member's own reports
RECENT_WEEKS = 4


def choose_product(hop: Hop) -> str:
    """Start a report of the chosen product for this week; the key of this hop names the report."""
    if hop.value == MINE:
        return "production_mine"
    for key in TASK_KEYS:
        hop.ctx.pop(key, None)
    hop.ctx.update(pp=hop.value, pw=reportable_weeks(hop.today)[0].key, pk=hop.idempotency_key)
    return "production_qty"


# --- quantity ----------------------------------------------------------------------------------


def quantity(raw: str) -> int:
    """A whole number of the product's unit, 1 to MAX_QUANTITY; digits only (`1.5` is not 15)."""
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_QUANTITY:
        raise Invalid(N_("Tapez un nombre entier de 1 à {max}."), max=format_quantity(MAX_QUANTITY))
    return int(text)


PRODUCTS = "products"  # hop.memo: the products this hop read, by id


def _fields(product: ProductLine | None) -> dict:
    if product is None:  # removed since the list was shown; `save` sends the member back to the list
        return {"product": "?", "unit": ""}
    return {"product": display_name(product.name), "unit": product.unit}


def product_fields(hop: Hop) -> dict:
    """Name and unit of the product being reported: as this hop already read it, else one statement."""
    assert hop.identity is not None
    known = hop.memo.get(PRODUCTS, {})
    if hop.ctx["pp"] in known:
        return _fields(known[hop.ctx["pp"]])
    return _fields(product_line(hop.db, cooperative_id=hop.identity.cooperative_id, product_id=hop.ctx["pp"]))


# --- weeks and confirmation --------------------------------------------------------------------


def week_label(hop: Hop, week: Week) -> str:
    """`Cette semaine (30/11-06/12)`, `Semaine passée (…)` or, for an older week, its dates."""
    this, last = reportable_weeks(hop.today)
    dates = {"start": f"{week.monday:%d/%m}", "end": f"{week.sunday:%d/%m}"}
    if week == this:
        return hop.t(N_("Cette semaine ({start}-{end})"), **dates)
    if week == last:
        return hop.t(N_("Semaine passée ({start}-{end})"), **dates)
    return hop.t(N_("Semaine du {start} au {end}"), **dates)


def confirm_view(hop: Hop) -> dict:
    """Product, quantity, unit and week of the report to be saved, and what it replaces (one statement)."""
    assert hop.identity is not None
    week = Week.parse(hop.ctx["pw"])
    product, earlier = product_and_current(
        hop.db,
        member_id=hop.member_id,
        cooperative_id=hop.identity.cooperative_id,
        product_id=hop.ctx["pp"],
        week=week,
    )
    fields = _fields(product)
    replaces = ""
    if earlier is not None:
        replaces = "\n" + hop.t(
            N_("Remplace {old} {unit}."), old=format_quantity(earlier), unit=fields["unit"]
        )
    return {
        **fields,
        "quantity": format_quantity(hop.ctx["pq"]),
        "week": week_label(hop, week),
        "replaces": replaces,
    }


def week_choices(hop: Hop) -> list[Choice]:
    """This week and last week, with their dates."""
    return [Choice(week_label(hop, week), week.key) for week in reportable_weeks(hop.today)]


def save(hop: Hop) -> str:
    """Save the report (idempotent by the key kept in ctx); queue the SMS receipt when it is on."""
    week = Week.parse(hop.ctx["pw"])
    if week not in reportable_weeks(hop.today):
        # A task resumed across a Monday: ask again rather than save under a week not shown.
        hop.fail(N_("Choisissez la semaine."))
        return "production_week"
    try:
        saved = save_report(
            hop.db,
            member_id=hop.member_id,
            product_id=hop.ctx["pp"],
            quantity=hop.ctx["pq"],
            week=week,
            now=hop.now,
            idempotency_key=hop.ctx.get("pk") or hop.idempotency_key,
            source=hop.source,
            tz=hop.clock.tz,
        )
    except (Refused, NotFound) as exc:
        if isinstance(exc, NotFound) or exc.code == "product":
            hop.fail(N_("Ce produit n'est plus proposé. Choisissez-en un autre."))
            return "production"
        hop.fail(N_("Choisissez la semaine."))
        return "production_week"
    product = saved.reporter.product
    hop.memo[PRODUCTS] = {product.id: product}  # the saved screen's title
    hop.wrote = hop.wrote or saved.created
    hop.ctx["pr"] = saved.report.reference
    if saved.superseded is not None:
        hop.ctx["po"] = saved.superseded.reference
    if saved.created and receipts_on(hop):
        queue_receipt(hop, saved.reporter, saved.report.reference, week)
    return "production_saved"


def cancel(hop: Hop) -> str:
    """Cancel: nothing saved, back to the main menu with a word saying so."""
    for key in TASK_KEYS:
        hop.ctx.pop(key, None)
    hop.fail(N_("Déclaration annulée."))
    return "main"


def saved_view(hop: Hop) -> dict:
    """What was saved, with its reference, and the report it replaced (the figures do not add up)."""
    old = hop.ctx.get("po")
    note = "\n" + hop.t(N_("Remplace votre déclaration {old}."), old=old) if old else ""
    week = Week.parse(hop.ctx["pw"])
    return {
        **product_fields(hop),
        "quantity": format_quantity(hop.ctx["pq"]),
        "ref": hop.ctx.get("pr", ""),
        "note": note,
        "start": f"{week.monday:%d/%m}",
        "end": f"{week.sunday:%d/%m}",
    }


def my_reports(hop: Hop) -> list[str]:
    """The member's current reports of the last 4 weeks, newest week first: `30/11 Moringa 98 kg`."""
    this_week = Week.of(hop.today)
    weeks = [Week.of(this_week.monday - timedelta(weeks=k)) for k in range(RECENT_WEEKS)]
    rows = hop.db.execute(
        select(
            ProductionReport.iso_year,
            ProductionReport.iso_week,
            ProductionReport.quantity,
            Product.name,
            Product.unit,
        )
        .join(Product, Product.id == ProductionReport.product_id)
        .where(
            ProductionReport.member_id == hop.member_id,
            ProductionReport.superseded_at.is_(None),
            ProductionReport.iso_year * 100 + ProductionReport.iso_week
            >= weeks[-1].year * 100 + weeks[-1].number,
        )
        .order_by(ProductionReport.iso_year.desc(), ProductionReport.iso_week.desc(), Product.name)
    ).all()
    if not rows:
        return [hop.t(N_("Aucune déclaration ces 4 semaines."))]
    return [
        f"{Week(year, number).monday:%d/%m} {display_name(name)[:SHORT_NAME]} {format_quantity(qty)} {unit}"
        for year, number, qty, name, unit in rows
    ]


SHORT_NAME = 18  # a line of "My reports" stays on one screen line with a 20-character unit


# --- the optional SMS receipt ------------------------------------------------------------------

RECEIPT = N_(
    "Mbolo: {name}, {quantity} {unit} de {product} enregistrés (semaine du {start} au {end}). Réf {ref}"
)


def receipts_on(hop: Hop) -> bool:
    """PRODUCTION_RECEIPT_SMS (default off)."""
    return bool(hop.config.PRODUCTION_RECEIPT_SMS)


def queue_receipt(hop: Hop, member: Reporter, reference: str, week: Week) -> None:
    """The receipt, in the member's language, through the outbox (sent after the hop commits)."""
    from sms.outbox import queue_sms

    product = member.product
    text = hop.t(
        RECEIPT,
        name=member.name,
        quantity=format_quantity(hop.ctx["pq"]),
        unit=product.unit,
        product=display_name(product.name),
        start=f"{week.monday:%d/%m}",
        end=f"{week.sunday:%d/%m}",
        ref=reference,
    )
    queue_sms(
        hop.db,
        to=member.phone or hop.phone,
        text=text,
        kind=SmsKind.RECEIPT,
        language=hop.language,
        now=hop.now,
        cooperative_id=member.cooperative_id,
        member_id=member.member_id,
        cost_per_segment=hop.config.SMS_COST_PER_SEGMENT,
    )


# --- the screens -------------------------------------------------------------------------------

SCREENS = [
    Screen(
        "production",
        "{title}",
        choices=product_choices,
        then=Decide(choose_product, "production_qty", "production_mine"),
    ),
    Screen(
        "production_mine",
        N_("Vos déclarations (4 semaines):"),
        lines=my_reports,
        back="production",
    ),
    Screen(
        "production_qty",
        N_("{product}: quantité en {unit} ?"),
        view=product_fields,
        accept=quantity,
        save_as="pq",
        then="production_confirm",
        back="production",
        zero_back=True,  # a quantity is never 0: `0` goes back to the products, as on menus
        resumable=True,
    ),
    Screen(
        "production_confirm",
        "{product}: {quantity} {unit}\n{week}{replaces}",  # names and numbers: nothing to translate
        view=confirm_view,
        options=[
            Option("1", N_("Confirmer"), Decide(save, "production_saved", "production", "production_week")),
            Option("2", N_("Annuler"), Decide(cancel, "main")),
            Option("3", N_("Changer de semaine"), "production_week"),
        ],
        back="production_qty",
        resumable=True,
    ),
    Screen(
        "production_week",
        N_("Quelle semaine ?"),
        choices=week_choices,
        save_as="pw",
        then="production_confirm",
        back="production_confirm",
        resumable=True,
    ),
    Screen(
        "production_saved",
        N_("Enregistré. Réf {ref}\n{product}: {quantity} {unit} ({start}-{end}){note}"),
        view=saved_view,
        options=[Option("1", N_("Autre produit"), "production")],
        back=None,
    ),
]
