"""The SVG charts' geometry: bars proportional to the figures, labels that say the figures."""

from __future__ import annotations

import pytest

from models.portfolio import BUCKETS, Bucket, Collection, Month, ProductLine, ReminderCounts
from ussd_app.admin import charts


def _bars(chart, css):
    return [r for r in chart.rects if r.css == css]


def test_history_bars_are_proportional_to_due_and_collected():
    """The tallest bar is the largest amount; the others scale with it; the rate is written under."""
    history = [
        Collection(Month(2026, 10), due=40_000, collected=10_000),
        Collection(Month(2026, 11), due=20_000),
    ]
    chart = charts.history_chart(history)
    due = _bars(chart, "due")
    paid = _bars(chart, "paid")
    assert due[0].h == pytest.approx(120.0)
    assert due[1].h == pytest.approx(60.0)
    assert paid[0].h == pytest.approx(30.0) and paid[1].h == 0
    assert [t.text for t in chart.texts if t.css == "axis small"] == ["25,0%", "0,0%"]
    assert "oct 2026: échu 40 000 F, recouvré 10 000 F" in chart.description


def test_ageing_rows_say_loans_and_amounts():
    """One row per bucket, the bar length relative to the largest bucket."""
    buckets = [Bucket(*b) for b in BUCKETS]
    buckets[0].loans, buckets[0].outstanding = 2, 80_000
    buckets[4].loans, buckets[4].outstanding = 1, 20_000
    chart = charts.ageing_chart(buckets)
    lengths = [r.w for r in chart.rects if r.css.startswith("age")]
    assert lengths[0] == pytest.approx(250.0) and lengths[4] == pytest.approx(62.5)
    labels = [t.text for t in chart.texts if t.css == "label"]
    assert labels[0] == "À jour (2 prêts)" and labels[4] == "> 90 j (1 prêt)"


def test_production_scales_each_product_on_its_own():
    """Kilograms and litres are not compared: each product's largest month fills the width."""
    chart = charts.production_chart(
        [ProductLine("Arachide", "kg", 500, 250, 0), ProductLine("Lait", "litre", 3, 6, 6)]
    )
    now = _bars(chart, "prod-now")
    assert now[0].w == pytest.approx(250.0) and now[1].w == pytest.approx(125.0)


def test_reminders_and_gauges():
    """Reminder bars share the month's total as scale; gauges clamp to 0–100 %."""
    counts = ReminderCounts(planned=4, sent=3, delivered=2, failed=1)
    chart = charts.reminders_chart(counts)
    assert [r.w for r in _bars(chart, "ok")] == [pytest.approx(125.0)]
    full = charts.gauge("x", 1.7, "170 %", "bad", mark=0.05)
    assert max(r.w for r in full.rects if r.css == "bad") == pytest.approx(280.0)
    assert ("mark", "seuil 5,0 %") in full.legend
    assert charts.gauge("x", None, "–", "ok").rects[1].w == 0
    assert charts.short_money(1_250_000) == "1,2 M" and charts.short_money(45_000) == "45 k"


def test_a_series_leaves_a_gap_where_a_month_has_no_figure():
    """A month without the figure (nothing due, no snapshot) breaks the line: no invented zero."""
    from models.portfolio import SeriesPoint
    from ussd_app.admin.charts import series_chart

    points = [
        SeriesPoint(Month(2026, m), rate, None, None)
        for m, rate in ((8, 0.9), (9, 0.8), (10, None), (11, 0.5), (12, 0.6))
    ]
    chart = series_chart(points, "collection_rate", "Taux", "ok")
    assert len(chart.lines) == 2
    assert [len(line.points.split()) for line in chart.lines] == [2, 2]
    dots = [r for r in chart.rects if r.css == "ok"]
    assert [r.title for r in dots] == [
        "aoû 2026: 90,0 %",
        "sep 2026: 80,0 %",
        "nov 2026: 50,0 %",
        "déc 2026: 60,0 %",
    ]
    # Higher rate, higher point (SVG y grows downwards).
    assert dots[0].y < dots[1].y < dots[3].y < dots[2].y
    assert "oct 2026: –" in chart.description
