"""Charts as plain shapes (rectangles and labels) that one Jinja macro draws as inline SVG.

The geometry is computed here so the template stays dumb and the shapes can be tested. Charts
are 360 units wide, about a phone's width in CSS pixels, so labels keep a readable size on a
phone and the SVG simply scales up (to the page's max width) on a desktop. Colours come from
CSS classes (admin.css), which also keeps them in print.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from i18n.formatting import format_money
from models.portfolio import Bucket, Collection, ProductLine, ReminderCounts, SeriesPoint

WIDTH = 360
MONTHS = ("jan", "fév", "mar", "avr", "mai", "juin", "juil", "aoû", "sep", "oct", "nov", "déc")


@dataclass(frozen=True)
class Rect:
    """A bar; `title` is its tooltip (and what a screen reader reads)."""

    x: float
    y: float
    w: float
    h: float
    css: str
    title: str = ""


@dataclass(frozen=True)
class Text:
    """A label."""

    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""


@dataclass(frozen=True)
class Line:
    """A polyline through `points` ("x,y x,y …"); a gap in the data is a new Line."""

    points: str
    css: str


@dataclass
class Chart:
    """Shapes in a WIDTH × height box, with a title and a text description for accessibility."""

    title: str
    description: str
    height: float
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    width: float = WIDTH
    lines: list[Line] = field(default_factory=list)


def short_money(amount: int) -> str:
    """An axis-sized amount: 950, 12 k, 1,2 M."""
    if abs(amount) >= 1_000_000:
        return f"{amount / 1_000_000:.1f} M".replace(".", ",").replace(",0 M", " M")
    if abs(amount) >= 10_000:
        return f"{amount // 1000} k"
    return f"{amount}"


def percent(value: float | None) -> str:
    """`12,5 %` (French), or an en dash when there is nothing to divide."""
    if value is None:
        return "–"
    return f"{value * 100:.1f} %".replace(".", ",")


def _scale(value: int, top: int, length: float) -> float:
    return 0.0 if top <= 0 else max(value, 0) / top * length


def history_chart(history: list[Collection]) -> Chart:
    """Due and collected per month: two bars a month, the rate under each month."""
    top = max([c.due for c in history] + [c.collected for c in history] + [1])
    base, plot = 150.0, 120.0
    chart = Chart(
        title="Échu et recouvré par mois",
        description="; ".join(
            f"{MONTHS[c.month.month - 1]} {c.month.year}: échu {format_money(c.due)}, "
            f"recouvré {format_money(c.collected)}"
            for c in history
        ),
        height=190,
        legend=[("due", "Échu"), ("paid", "Recouvré")],
    )
    slot = (WIDTH - 40) / max(len(history), 1)
    bar = slot * 0.36
    chart.texts.append(Text(38, 24, short_money(top), "end", "axis"))
    chart.texts.append(Text(38, base, "0", "end", "axis"))
    chart.rects.append(Rect(40, base, WIDTH - 40, 1, "baseline"))
    for k, c in enumerate(history):
        x = 40 + k * slot + slot * 0.12
        due_h, paid_h = _scale(c.due, top, plot), _scale(c.collected, top, plot)
        chart.rects.append(Rect(x, base - due_h, bar, due_h, "due", f"Échu {format_money(c.due)}"))
        chart.rects.append(
            Rect(x + bar, base - paid_h, bar, paid_h, "paid", f"Recouvré {format_money(c.collected)}")
        )
        chart.texts.append(Text(x + bar, base + 14, MONTHS[c.month.month - 1], "middle", "axis"))
        rate = percent(c.rate).replace(" %", "%") if c.rate is not None else ""
        chart.texts.append(Text(x + bar, base + 28, rate, "middle", "axis small"))
    return chart


def _hbars(title: str, rows: list[tuple[str, int, str, str]], unit_top: int | None = None) -> Chart:
    """Horizontal bars: (label, value, value text, css) per row, scaled to the largest value."""
    top = unit_top or max([value for _, value, _, _ in rows] + [1])
    row_h = 34.0
    chart = Chart(
        title=title,
        description="; ".join(f"{label}: {shown}" for label, _, shown, _ in rows),
        height=row_h * len(rows) + 6,
    )
    for k, (label, value, shown, css) in enumerate(rows):
        y = 4 + k * row_h
        chart.texts.append(Text(0, y + 11, label, "start", "label"))
        length = _scale(value, top, WIDTH - 110)
        chart.rects.append(Rect(0, y + 15, WIDTH - 110, 12, "track"))
        chart.rects.append(Rect(0, y + 15, length, 12, css, f"{label}: {shown}"))
        chart.texts.append(Text(WIDTH, y + 26, shown, "end", "value"))
    return chart


def ageing_chart(buckets: list[Bucket]) -> Chart:
    """Outstanding of active loans by days late."""
    rows = []
    for k, b in enumerate(buckets):
        label = f"{b.label} ({b.loans} prêt{'s' if b.loans > 1 else ''})"
        rows.append((label, b.outstanding, format_money(b.outstanding), f"age{k}"))
    return _hbars("Encours par retard", rows)


def production_chart(lines: list[ProductLine]) -> Chart:
    """Each product against the previous month and the same month a year before (each on its own scale)."""
    row_h = 34.0
    chart = Chart(
        title="Production par produit",
        description="; ".join(
            f"{p.product}: {p.quantity} {p.unit} (mois précédent {p.previous}, il y a un an {p.last_year})"
            for p in lines
        ),
        height=max(len(lines), 1) * (row_h + 40) + 4,
        legend=[("prod-now", "Ce mois"), ("prod-prev", "Mois précédent"), ("prod-year", "Il y a un an")],
    )
    for k, p in enumerate(lines):
        y = 4 + k * (row_h + 40)
        top = max(p.quantity, p.previous, p.last_year, 1)
        chart.texts.append(Text(0, y + 11, f"{p.product} ({p.unit})", "start", "label"))
        bars = ((p.quantity, "prod-now"), (p.previous, "prod-prev"), (p.last_year, "prod-year"))
        for j, (value, css) in enumerate(bars):
            bar_y = y + 16 + j * 16
            shown = f"{value:,}".replace(",", " ") + f" {p.unit}"
            chart.rects.append(Rect(0, bar_y, _scale(value, top, WIDTH - 110), 12, css, shown))
            chart.texts.append(Text(WIDTH, bar_y + 11, shown, "end", "value"))
    return chart


def reminders_chart(counts: ReminderCounts) -> Chart:
    """Reminders of the month by outcome."""
    rows = [
        ("Remis (délivrés)", counts.delivered, str(counts.delivered), "ok"),
        ("Envoyés sans accusé", counts.sent - counts.delivered, str(counts.sent - counts.delivered), "sent"),
        ("Échecs", counts.failed, str(counts.failed), "bad"),
        ("Annulés", counts.cancelled, str(counts.cancelled), "muted"),
        ("En attente", counts.pending + counts.unknown, str(counts.pending + counts.unknown), "wait"),
    ]
    return _hbars("Rappels du mois", rows, unit_top=max(counts.planned, 1))


def gauge(title: str, value: float | None, shown: str, css: str, mark: float | None = None) -> Chart:
    """One bar filled to `value` (0–1), with an optional threshold mark."""
    chart = Chart(title=title, description=f"{title}: {shown}", height=30)
    filled = 0.0 if value is None else min(max(value, 0.0), 1.0)
    chart.rects.append(Rect(0, 8, WIDTH - 80, 14, "track"))
    chart.rects.append(Rect(0, 8, filled * (WIDTH - 80), 14, css, f"{title}: {shown}"))
    if mark is not None:
        label = f"seuil {percent(mark)}"
        chart.rects.append(Rect(mark * (WIDTH - 80) - 1, 4, 2, 22, "mark", label))
        chart.legend.append(("mark", label))
    chart.texts.append(Text(WIDTH, 20, shown, "end", "value"))
    return chart


# The three series of the 12-month history: (attribute of SeriesPoint, title, css, alert mark).
SERIES = (
    ("collection_rate", "Taux de recouvrement", "ok", None),
    ("on_time_rate", "Échéances payées à l'heure", "sent", None),
    ("par30", "PAR30 en fin de mois", "bad", 0.05),
)


def series_chart(points: list[SeriesPoint], attribute: str, title: str, css: str, mark=None) -> Chart:
    """One rate per month as a line on a 0–100 % scale (or to the largest value when all are small).

    A month without the figure (nothing due; no snapshot yet) leaves a gap, never a fake zero.
    """
    values = [getattr(p, attribute) for p in points]
    known = [v for v in values if v is not None]
    top = 1.0 if not known or max(known) > 0.5 else 0.5
    base, plot = 130.0, 110.0
    chart = Chart(
        title=title,
        description="; ".join(
            f"{MONTHS[p.month.month - 1]} {p.month.year}: {percent(v)}"
            for p, v in zip(points, values, strict=True)
        ),
        height=165,
    )
    chart.texts.append(Text(38, base - plot + 4, percent(top).replace(",0", ""), "end", "axis"))
    chart.texts.append(Text(38, base + 4, "0 %", "end", "axis"))
    chart.rects.append(Rect(40, base, WIDTH - 40, 1, "baseline"))
    chart.rects.append(Rect(40, base - plot, WIDTH - 40, 1, "grid"))
    if mark is not None and mark <= top:
        y = base - mark / top * plot
        chart.rects.append(Rect(40, y, WIDTH - 40, 1, "mark-line", f"seuil {percent(mark)}"))
        chart.legend.append(("mark-line", f"seuil {percent(mark)}"))
    slot = (WIDTH - 40) / max(len(points), 1)
    run: list[str] = []
    for k, (p, value) in enumerate(zip(points, values, strict=True)):
        x = 40 + k * slot + slot / 2
        chart.texts.append(Text(x, base + 14, MONTHS[p.month.month - 1], "middle", "axis"))
        if value is None:
            if run:
                chart.lines.append(Line(" ".join(run), css))
            run = []
            continue
        y = base - min(max(value, 0.0), top) / top * plot
        run.append(f"{x:.1f},{y:.1f}")
        chart.rects.append(
            Rect(x - 2.5, y - 2.5, 5, 5, css, f"{MONTHS[p.month.month - 1]} {p.month.year}: {percent(value)}")
        )
        # Whole percents above the points: twelve "100,0" labels would run into each other.
        chart.texts.append(Text(x, y - 6, f"{value * 100:.0f}", "middle", "axis small"))
    if run:
        chart.lines.append(Line(" ".join(run), css))
    return chart


def series_charts(points: list[SeriesPoint]) -> dict[str, Chart]:
    """The three 12-month charts, keyed by their attribute."""
    return {attr: series_chart(points, attr, title, css, mark) for attr, title, css, mark in SERIES}
