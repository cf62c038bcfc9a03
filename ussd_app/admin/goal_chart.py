"""The doubling-goal chart: per product, production against its baseline and target, as SVG shapes."""

from __future__ import annotations

from ussd_app.admin.charts import WIDTH, Chart, Rect, Text, percent


def _qty(value: int, unit: str) -> str:
    return f"{value:,}".replace(",", " ") + f" {unit}"


def goal_chart(title: str, rows) -> Chart:
    """Per total (product, unit, actual, baseline, target): a production bar with baseline and target marks.

    Each row has its own scale (the larger of production and target), since units differ between rows.
    """
    row_h = 44.0
    chart = Chart(
        title=title,
        description="; ".join(
            f"{r.product} ({r.unit}): {_qty(r.actual, r.unit)}, base {_qty(r.baseline, r.unit)}, "
            f"objectif {_qty(r.target, r.unit)}, progression {percent(r.progress)}"
            for r in rows
        ),
        height=max(len(rows), 1) * row_h + 6,
        legend=[("prod-now", "Production"), ("goal-base", "Base"), ("goal-target", "Objectif")],
    )
    length = WIDTH - 110
    for k, r in enumerate(rows):
        y = 4 + k * row_h
        label = f"{r.product} ({r.unit})" + (f" · {r.region}" if getattr(r, "region", None) else "")
        chart.texts.append(Text(0, y + 11, label, "start", "label"))
        top = max(r.actual, r.target, 1)
        chart.rects.append(Rect(0, y + 16, length, 14, "track"))
        chart.rects.append(Rect(0, y + 16, r.actual / top * length, 14, "prod-now", _qty(r.actual, r.unit)))
        for value, css, name in ((r.baseline, "goal-base", "base"), (r.target, "goal-target", "objectif")):
            if value:
                chart.rects.append(
                    Rect(value / top * length - 1.5, y + 12, 3, 22, css, f"{name} {_qty(value, r.unit)}")
                )
        chart.texts.append(Text(WIDTH, y + 28, percent(r.progress), "end", "value"))
    return chart
