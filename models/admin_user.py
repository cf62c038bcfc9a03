"""Accounts of the coordinator web pages: coordinators (all cooperatives, or a region's) and managers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from models import audit
from models.base import Base, UTCDateTime
from models.cooperative import Cooperative
from models.enums import Source
from models.errors import NotFound, Refused
from models.scope import Scope, known_region

# scrypt is werkzeug's default; named here so a library change cannot silently weaken it.
PASSWORD_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 10
# Compared against when the e-mail is unknown, so that a wrong e-mail costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)


class AdminRole(StrEnum):
    """coordinator: every cooperative, or one region's; manager: the one cooperative set on the account."""

    COORDINATOR = "coordinator"
    MANAGER = "manager"


class AdminUser(Base):
    """A web account; e-mail unique (stored lower-case), password hashed with scrypt."""

    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(12))
    cooperative_id: Mapped[int | None] = mapped_column(ForeignKey("cooperative.id"))
    # A coordinator of one region (as the cooperatives spell it); None: every region.
    region: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised at logout: every session cookie issued before it is refused (sessions end server-side).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def is_coordinator(self) -> bool:
        """Coordinators see several cooperatives: every one, or their region's."""
        return self.role == AdminRole.COORDINATOR

    @property
    def scope(self) -> Scope:
        """The cooperatives this account sees."""
        if self.is_coordinator:
            return Scope(region=self.region)
        return Scope(cooperative_id=self.cooperative_id if self.cooperative_id is not None else -1)

    def may_read(self, cooperative: Cooperative | None) -> bool:
        """True when this account may see the cooperative's figures and members."""
        return self.active and self.scope.covers(cooperative)


def normalise_email(email: str) -> str:
    """E-mails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    now: datetime,
    cooperative: Cooperative | None = None,
    region: str | None = None,
    actor: str = "system",
    source: str = Source.CLI,
) -> AdminUser:
    """Add an account (audited); managers need a cooperative, coordinators have none and may have a region."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise Refused("email", email=email)
    if role not in tuple(AdminRole):
        raise Refused("role", role=role)
    if role == AdminRole.MANAGER and cooperative is None:
        raise Refused("manager_needs_cooperative")
    if role == AdminRole.COORDINATOR and cooperative is not None:
        raise Refused("coordinator_has_no_cooperative")
    if region is not None and role != AdminRole.COORDINATOR:
        raise Refused("region_is_for_coordinators")
    if region is not None:
        try:
            region = known_region(session, region)
        except NotFound:
            raise Refused("unknown_region", region=region) from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Refused("password_too_short", minimum=MIN_PASSWORD_LENGTH)
    if session.scalar(select(AdminUser.id).where(AdminUser.email == email)) is not None:
        raise Refused("email_taken", email=email)
    user = AdminUser(
        email=email,
        password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
        role=role,
        cooperative_id=cooperative.id if cooperative is not None else None,
        region=region,
        active=True,
        failed_logins=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="admin_user.create",
        target=f"user:{email}",
        source=source,
        at=now,
        after={"role": role, "cooperative_id": user.cooperative_id, "region": region},
    )
    return user


def authenticate(session: Session, email: str, password: str, now: datetime) -> AdminUser | None:
    """The active account for these credentials, else None; counts failures on the account."""
    user = session.scalar(select(AdminUser).where(AdminUser.email == normalise_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        user.failed_logins += 1
        user.last_failed_at = now
        return None
    user.failed_logins = 0
    user.last_login_at = now
    return user


def find_user(session: Session, email: str) -> AdminUser:
    """The account with this e-mail; NotFound otherwise."""
    user = session.scalar(select(AdminUser).where(AdminUser.email == normalise_email(email)))
    if user is None:
        raise NotFound(email)
    return user
