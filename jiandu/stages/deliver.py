"""Deliver: email each issue to each recipient exactly once.

Every (issue, recipient) pair is a row. It is marked "sending" (with its Message-ID) and
committed before the SMTP conversation, and "sent" right after, so a run that dies is re-run
without sending twice to anyone who already has it. If a run dies in the instant between the
server accepting the message and the row being marked, the resend carries the same Message-ID,
which mail clients use to fold duplicates. Refusals are recorded and retried by later runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid

from jiandu.runtime import Runtime
from jiandu.stages.report import StageReport
from jiandu.settings import Settings
from jiandu.models import store, transitions
from jiandu.models.schema import utcnow

MAX_ATTEMPTS = 8


@dataclass
class DeliveryReport(StageReport):
    sent: int = 0
    failed: int = 0
    skipped_already_sent: int = 0
    errors: list[str] = field(default_factory=list)



def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.mail_to)


def queue_issue(rt: Runtime, issue_number: int, recipients: list[str] | None = None,
                *, force: bool = False) -> None:
    """Create the delivery rows of an issue (force: send again to those who have it)."""
    recipients = recipients or list(rt.settings.mail_to)
    with rt.sessions.begin() as session:
        issue = store.issue_by_number(session, issue_number)
        if issue is None:
            from jiandu.errors import InputError

            raise InputError(f"no issue number {issue_number}")
        if issue.status != "published":  # a draft is sent by its approval, never by hand
            from jiandu.errors import InputError

            raise InputError(f"issue {issue_number} is a draft: approve it to send it "
                             f"(jiandu issue approve {issue_number})")
        for recipient in recipients:
            delivery = store.delivery_for(session, issue, recipient)
            if force:
                transitions.requeued(delivery)


def deliver_pending(rt: Runtime, *, now: datetime | None = None) -> DeliveryReport:
    from jiandu.connectors.mail import MailError, build_message, send_message

    now = now or utcnow()
    settings = rt.settings
    report = DeliveryReport()
    # Rows exist only for recipients someone chose (JIANDU_MAIL_TO at publish, or --to by
    # hand), so a server is all that is needed to send them.
    if not settings.smtp_host:
        return report
    with rt.sessions() as session:
        for delivery in store.deliveries_to_send(session, max_attempts=MAX_ATTEMPTS):
            issue = store.issue_of(session, delivery)
            domain = settings.mail_from.rpartition("@")[2] or "localhost"
            transitions.sending(delivery, delivery.message_id or make_msgid(
                idstring=f"jiandu.{issue.number}", domain=domain))
            session.commit()  # recorded before sending
            try:
                # Built inside the try: a bad recipient or header fails this delivery alone.
                message = build_message(
                    subject=issue.subject, sender=settings.mail_from, recipient=delivery.recipient,
                    reply_to=settings.mail_reply_to, text=issue.text, html=issue.html,
                    message_id=delivery.message_id, list_unsubscribe=settings.list_unsubscribe,
                    date=issue.created_at,
                )
                send_message(
                    message, host=settings.smtp_host,
                    port=settings.smtp_port or {"ssl": 465, "starttls": 587}.get(settings.smtp_security, 25),
                    security=settings.smtp_security, username=settings.smtp_username,
                    password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                )
            except MailError as exc:
                transitions.refused(delivery, str(exc))
                report.failed += 1
                report.errors.append(f"issue {issue.number} to {delivery.recipient}: {exc}")
            else:
                transitions.sent(delivery, utcnow())
                report.sent += 1
            session.commit()  # recorded after sending
    return report
