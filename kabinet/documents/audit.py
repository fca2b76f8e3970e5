"""The security audit log: sign-ins, changes to accounts, data exports and deletions, and every
staff action; readable by administrators (`securityEvents`)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class AuditAction(StrEnum):
    LOGIN = "account.login"
    LOGIN_FAILED = "account.login_failed"
    LOGOUT = "account.logout"
    LOGOUT_EVERYWHERE = "account.logout_everywhere"
    EMAIL_CONFIRMED = "account.email_confirmed"
    PASSWORD_CHANGED = "account.password_changed"  # noqa: S105 - an action name, not a secret
    PASSWORD_RESET_REQUESTED = "account.password_reset_requested"  # noqa: S105 - an action name, not a secret
    PASSWORD_RESET = "account.password_reset"  # noqa: S105 - an action name, not a secret
    DATA_EXPORTED = "account.data_exported"
    ACCOUNT_DELETED = "account.deleted"
    CONTACT_ADDED = "contact.added"
    CONTACT_VERIFIED = "contact.verified"
    CONTACT_REMOVED = "contact.removed"
    REQUEST_STATUS_CHANGED = "request.status_changed"
    REQUEST_COMMENTED = "request.commented"
    REQUEST_ASSIGNED = "request.assigned"
    REQUEST_OUTCOME_RECORDED = "request.outcome_recorded"
    POLICY_PHONES_UPDATED = "policy.phones_updated"
    POLICIES_IMPORTED = "policies.imported"
    PROVIDERS_IMPORTED = "providers.imported"
    CARD_ISSUED = "policy.card_issued"
    CARD_LINKS_REVOKED = "policy.card_links_revoked"
    LINK_KEY_ROTATED = "links.key_rotated"


class AuditEventDocument(Document):
    """One event: who did it (``actor``), whose account it concerns (``subject``), from where.

    ``before`` and ``after`` hold the changed fields or the reason of a failure; never a
    secret, a contact's value or anything a person typed.
    """

    at: datetime = Field(default_factory=now)
    action: AuditAction
    actor_id: PydanticObjectId | None
    actor_role: str | None
    subject_id: PydanticObjectId | None = None
    target_type: str | None = None
    target_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    class Settings(WholeDocuments):
        name = "audit_events"
        indexes = (
            IndexModel([("at", DESCENDING), ("_id", DESCENDING)], name="newest"),
            IndexModel(
                [("subject_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
                name="subject_newest",
            ),
            IndexModel(
                [("actor_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
                name="actor_newest",
            ),
            IndexModel(
                [("action", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
                name="action_newest",
            ),
            IndexModel([("target_type", ASCENDING), ("target_id", ASCENDING)], name="target"),
        )
