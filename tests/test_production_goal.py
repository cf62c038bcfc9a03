"""Production against the doubling goal: baseline, target and progress; the baselines import; the report."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models.activity import ProductionBaseline, ProductionReport
from models.csv_import import import_baselines
from models.production import weeks_of_month
from models.production_goal import goal_lines, goal_totals, month_figures, progress
from tests import factories as f
from tests.conftest import DEFAULT_NOW


def test_progress_is_zero_at_the_baseline_and_one_at_the_target():
    """(actual − baseline) ÷ (target − baseline); below the baseline is negative; no room, no figure."""
    assert progress(100, 100, 200) == 0
    assert progress(200, 100, 200) == 1
    assert progress(150, 100, 200) == 0.5
    assert progress(50, 100, 200) == -0.5
    assert progress(300, 100, 200) == 2
    assert progress(10, 0, 0) is None
    assert progress(10, 100, 100) is None


def test_month_figures_prefer_the_imported_month_and_double_by_default():
    """An imported month replaces the derived one; an imported target replaces twice the baseline."""
    figures = month_figures({1: 10, 2: 20, 3: 30}, {2: (25, None), 3: (30, 45)}, range(1, 5))
    assert [(m, f.baseline, f.target, f.imported) for m, f in figures.items()] == [
        (1, 10, 20, False),
        (2, 25, 50, True),
        (3, 30, 45, True),
        (4, 0, 0, False),
    ]


def _report(db, member, product, week, quantity, superseded=False):
    db.add(
        ProductionReport(
            member_id=member.id,
            product_id=product.id,
            quantity=quantity,
            iso_year=week.year,
            iso_week=week.number,
            reported_at=datetime(2026, 1, 1, tzinfo=UTC),
            superseded_at=datetime(2026, 1, 2, tzinfo=UTC) if superseded else None,
            source="ussd",
        )
    )


@pytest.fixture
def farms(db):
    """Thiès: mil (kg) in two cooperatives; Louga: milk (litre). Reports in 2024 and 2026, Jan–Mar."""
    kms = f.coop(db, "GIE Keur Massar", "KMS", region="Thiès")
    tiv = f.coop(db, "GIE Tivaouane", "TIV", region="THIES")
    ndb = f.coop(db, "GIE Ndiambour", "NDB", region="Louga")
    mil_k, mil_t, lait = (
        f.product(db, kms, "Mil", "kg"),
        f.product(db, tiv, "mil", "kg"),
        f.product(db, ndb, "Lait", "litre"),
    )
    a, b, c = f.member(db, kms, "M1"), f.member(db, tiv, "M1", "B"), f.member(db, ndb, "M1", "C")
    for month, q in ((1, 100), (2, 100), (3, 100)):
        _report(db, a, mil_k, weeks_of_month(2024, month)[0], q)
        _report(db, b, mil_t, weeks_of_month(2024, month)[1], q // 2)
    _report(db, a, mil_k, weeks_of_month(2024, 4)[0], 999)  # after the period: not counted
    for month, q in ((1, 150), (2, 200)):
        _report(db, a, mil_k, weeks_of_month(2026, month)[0], q)
    _report(db, a, mil_k, weeks_of_month(2026, 2)[1], 500, superseded=True)  # replaced: not counted
    _report(db, b, mil_t, weeks_of_month(2026, 1)[0], 40)
    _report(db, c, lait, weeks_of_month(2026, 3)[0], 300)
    db.commit()
    return {"kms": kms, "tiv": tiv, "ndb": ndb, "mil_k": mil_k, "lait": lait}


def test_goal_lines_from_the_reference_year(db, farms):
    """Jan–Mar 2026 against Jan–Mar 2024: baseline from the same months, target twice it."""
    lines = {(line.code, line.product): line for line in goal_lines(db, 2026, 3, 2024)}
    kms = lines[("KMS", "Mil")]
    assert (kms.actual, kms.baseline, kms.target) == (350, 300, 600)
    assert kms.progress == pytest.approx(50 / 300)
    tiv = lines[("TIV", "mil")]
    assert (tiv.actual, tiv.baseline, tiv.target) == (40, 150, 300)
    lait = lines[("NDB", "Lait")]
    assert (lait.actual, lait.baseline, lait.target, lait.progress) == (300, 0, 0, None)
    only = goal_lines(db, 2026, 3, 2024, [farms["ndb"].id])
    assert [line.code for line in only] == ["NDB"]


def test_totals_per_region_and_programme_add_only_the_same_product_and_unit(db, farms):
    """Thiès: mil = both cooperatives' mil; the programme keeps kg of mil and litres of milk apart."""
    lines = goal_lines(db, 2026, 3, 2024)
    regions = {(t.region, t.product, t.unit): t for t in goal_totals(lines, by_region=True)}
    thies = next(t for k, t in regions.items() if k[1].lower() == "mil")
    assert (thies.cooperatives, thies.actual, thies.baseline, thies.target) == (2, 390, 450, 900)
    programme = goal_totals(lines, by_region=False)
    assert sorted((t.product.lower(), t.unit, t.actual) for t in programme) == [
        ("lait", "litre", 300),
        ("mil", "kg", 390),
    ]


def test_imported_baselines_win_and_bad_rows_are_reported_by_line(db, farms):
    """Good rows import; each bad row is named by its line (header = line 1); imported months win."""
    data = (
        b"cooperative,product,month,baseline,target\n"
        b"KMS,mil,1,200,\n"  # replaces January's derived 100; target 400
        b"NDB,Lait,3,200,500\n"
        b"KMS,Mil,13,5,\n"  # line 4: no such month
        b"XXX,Mil,1,5,\n"  # line 5: unknown cooperative
        b"KMS,Riz,1,5,\n"  # line 6: no such product
        b"KMS,MIL,1,300,\n"  # line 7: same product and month as line 2
        b"NDB,Lait,2,abc,\n"  # line 8: not a number
    )
    result = import_baselines(db, data, now=DEFAULT_NOW, filename="b.csv")
    db.commit()
    assert result.created == 2
    assert [issue.line for issue in result.failed] == [4, 5, 6, 7, 8]
    lines = {(line.code, line.product): line for line in goal_lines(db, 2026, 3, 2024)}
    kms = lines[("KMS", "Mil")]
    assert (kms.baseline, kms.target, kms.months_imported) == (400, 800, 1)
    lait = lines[("NDB", "Lait")]
    assert (lait.baseline, lait.target, lait.progress) == (200, 500, pytest.approx(100 / 300))
    again = import_baselines(db, b"cooperative,product,month,baseline\nKMS,mil,1,250\n", now=DEFAULT_NOW)
    db.commit()
    assert (again.created, again.updated) == (0, 1)
    row = db.scalar(select(ProductionBaseline).where(ProductionBaseline.month == 1))
    assert (row.quantity, row.target) == (250, None)


def test_report_production_vs_baseline(runner, db, farms, clock):
    """The command prints each cooperative's product, the region and the programme totals."""
    clock.set(datetime(2026, 3, 20, 10, tzinfo=UTC))
    result = runner.invoke(args=["report", "production", "--vs-baseline", "--month", "2026-03"], env={})
    assert result.exit_code == 0, result.output
    assert "imported baselines only" in result.output  # PRODUCTION_BASELINE_YEAR unset in tests
    assert "(programme)" in result.output and "(region)" in result.output
    csv_out = runner.invoke(args=["report", "production", "--vs-baseline", "--month", "2026-03", "--csv"])
    assert (
        csv_out.output.splitlines()[0]
        == "period,cooperative,region,product,unit,production,baseline,target,progress"
    )
    assert "2026-01..2026-03,GIE Keur Massar,Thiès,Mil,kg,350,0,0," in csv_out.output


def test_goal_page_and_chart_within_scope(client, db, farms, clock):
    """The page shows the scope's lines and totals; the chart marks baseline and target; outside is 403."""
    from tests.admin_support import add_user, login
    from ussd_app.admin.goal_chart import goal_chart

    clock.set(datetime(2026, 3, 20, 10, tzinfo=UTC))
    import_baselines(db, b"cooperative,product,month,baseline\nKMS,mil,1,100\n", now=DEFAULT_NOW)
    db.commit()
    add_user(db, "thies@mbolo.sn", region="Thiès")
    login(client, "thies@mbolo.sn")
    page = client.get("/admin/production?month=2026-03").get_data(as_text=True)
    assert "GIE Keur Massar" in page and "GIE Ndiambour" not in page and 'id="chart-goal"' in page
    assert client.get(f"/admin/production?cooperative={farms['ndb'].id}").status_code == 403
    lines = goal_lines(db, 2026, 3, None)
    chart = goal_chart("t", goal_totals(lines, by_region=False))
    marks = [r for r in chart.rects if r.css in ("goal-base", "goal-target")]
    assert {r.css for r in marks} == {"goal-base", "goal-target"}
    bar = next(r for r in chart.rects if r.css == "prod-now" and "kg" in r.title)
    target = next(r for r in marks if r.css == "goal-target")
    assert bar.w > target.x  # 390 kg of mil produced against a 200 kg target: the bar passes the mark
