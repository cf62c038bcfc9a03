"""`/admin/broadcast`: an announcement from the web, previewed (the dry run) before a confirm.

The plan and the writing are `sms.broadcast`'s, the same as the `broadcast` command's. The
audience is a cooperative or a region inside the account's scope, optionally only members in
arrears. The confirm re-plans from the same fields: if the recipients changed since the
preview (someone paid, someone sent STOP), the new preview is shown instead of sending.
"""

from __future__ import annotations

import hashlib
import logging

from flask import abort, render_template, request
from sqlalchemy import select

from models.cooperative import Cooperative
from models.enums import Source
from models.scope import region_key, regions
from sms.broadcast import Audience, BroadcastError, BroadcastPlan, plan_broadcast, write_broadcast
from sms.jobs import enqueue_send
from sms.sending_hours import SendingHours
from ussd_app.admin.pages import bp
from ussd_app.admin.security import current_user

log = logging.getLogger("mbolo.admin")
LANGS = ("fr", "wo", "en")


def _choices(session):
    """The cooperatives and regions this account may address."""
    scope = current_user().scope
    coops = session.scalars(
        scope.restrict(select(Cooperative).order_by(Cooperative.name), Cooperative.id, session)
    ).all()
    named = regions(session)
    wanted = {region_key(c.region) for c in coops if c.region}
    shown = sorted(spelling for key, spelling in named.items() if key in wanted)
    return coops, (shown if current_user().is_coordinator else [])


def _audience(session, form, today) -> Audience:
    """The audience the form names, inside the account's scope (403 outside it)."""
    user = current_user()
    arrears_on = today if form.get("arrears") == "1" else None
    kind = form.get("kind", "cooperative")
    if kind == "region":
        if not user.is_coordinator:
            abort(403)
        return Audience.region(session, form.get("region", ""), user.scope, arrears_on)
    try:
        coop = session.get(Cooperative, int(form.get("cooperative", "")))
    except ValueError:
        raise BroadcastError("choisissez une coopérative") from None
    if coop is None or not user.may_read(coop):
        abort(403)
    return Audience.cooperative(coop, arrears_on)


def fingerprint(plan: BroadcastPlan) -> str:
    """A digest of what the confirm sends: texts, audience and every recipient."""
    digest = hashlib.sha256()
    digest.update(plan.audience.target.encode())
    digest.update(repr(sorted(plan.texts.items())).encode())
    digest.update(repr(plan.audience.arrears_on).encode())
    for language in sorted(plan.recipients):
        digest.update(repr((language, plan.recipients[language])).encode())
    return digest.hexdigest()[:32]


def _plan(session, form):
    from ussd_app.current import runtime

    rt = runtime()
    audience = _audience(session, form, rt.clock.today())
    return plan_broadcast(
        session,
        audience=audience,
        texts={lang: (form.get(f"text_{lang}") or None) for lang in LANGS},
        now=rt.clock.now(),
        hours=SendingHours.from_config(rt.config),
        cost_per_segment=rt.config.SMS_COST_PER_SEGMENT,
    )


def _form_page(session, form, error=None, status=200):
    coops, region_names = _choices(session)
    page = render_template(
        "admin/broadcast.html", form=form, coops=coops, regions=region_names, error=error, plan=None
    )
    return page, status


@bp.get("/broadcast")
def broadcast_form():
    """The announcement form."""
    from ussd_app.current import db_session

    return _form_page(db_session(), request.args)


@bp.post("/broadcast/preview")
def broadcast_preview():
    """The dry run: recipients per language, segments, cost, folded characters; writes nothing."""
    from ussd_app.current import db_session

    session = db_session()
    try:
        plan = _plan(session, request.form)
    except BroadcastError as exc:
        return _form_page(session, request.form, str(exc), 400)
    session.rollback()
    return render_template("admin/broadcast.html", form=request.form, plan=plan, digest=fingerprint(plan))


@bp.post("/broadcast/send")
def broadcast_send():
    """Send what was previewed (audited); a changed plan is shown again instead."""
    from ussd_app.current import db_session, runtime

    session = db_session()
    try:
        plan = _plan(session, request.form)
    except BroadcastError as exc:
        return _form_page(session, request.form, str(exc), 400)
    digest = fingerprint(plan)
    if digest != request.form.get("digest"):
        session.rollback()
        page = render_template(
            "admin/broadcast.html",
            form=request.form,
            plan=plan,
            digest=digest,
            changed=True,
        )
        return page, 409
    user = current_user()
    written = write_broadcast(session, plan, actor=f"user:{user.email}", source=Source.WEB)
    session.commit()
    if written:
        enqueue_send(runtime())
    log.info("admin.broadcast", extra={"written": written, "target": plan.audience.target})
    return render_template("admin/broadcast.html", form={}, plan=plan, sent=written)
