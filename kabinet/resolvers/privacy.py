"""A person's rights over their data: a copy of everything held (`exportMyData`) and erasure
(`deleteAccount`). What is erased and what is kept is documented in docs/architecture.md.

Deletion runs without multi-document transactions, so its order is what keeps it safe:

1. the account is marked (``deleting_since``): from that single update on, its sessions sign
   nothing in (open WebSocket subscriptions end at their next session check), login and
   every email flow treat the address as unknown;
2. sessions, link tokens, undelivered messages, the requests' personal fields and files,
   and contacts are erased, each step safe to repeat;
3. the account document goes last, which frees the email for a new registration.

A crash after step 1 leaves an unusable account whose data is partly erased; every process
finishes such deletions when it starts (`finish_deletions`).
"""

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pydantic import BaseModel

from kabinet.auth import rate_limit
from kabinet.auth.context import Caller
from kabinet.auth.sessions import end_sessions, list_sessions
from kabinet.clock import now
from kabinet.db import Database
from kabinet.documents import (
    STAFF_ROLES,
    AddressKind,
    Attachment,
    AuditAction,
    AuditEventDocument,
    CardLinkDocument,
    ContactDocument,
    EmailTokenDocument,
    OutboxMessageDocument,
    PolicyDocument,
    RequestDocument,
    RequestKind,
    RequestStatus,
    UserDocument,
)
from kabinet.documents.request import CallbackOutcome, LabTestsOutcome, Outcome, one_request
from kabinet.periodic import repeat
from kabinet.resolvers import audit, contacts, files, policies
from kabinet.resolvers.account import Done
from kabinet.resolvers.errors import InvalidCredentials, RateLimited
from kabinet.services import Services

logger = logging.getLogger(__name__)
STAFF_ROLE_VALUES = frozenset(role.value for role in STAFF_ROLES)

EXPORT_FORMAT = "kabinet.data-export"
EXPORT_FORMAT_VERSION = 1

# Per kind of request, the details erased when the owner deletes the account: what the
# person typed and where they can be reached or paid. The service itself (specialty,
# medications, tests, amount, dates) stays, as the insurer's record of the case.
PERSONAL_DETAILS: dict[RequestKind, dict[str, object]] = {
    RequestKind.DOCTOR_APPOINTMENT: {"reason": None, "address": None},
    RequestKind.MEDICATIONS: {"comment": None, "delivery_address": None},
    RequestKind.LAB_TESTS: {"address": None},
    RequestKind.REIMBURSEMENT: {"description": "", "iban": ""},
    RequestKind.CALLBACK: {"phone": "", "topic": None},
}


# What the export takes of each kind of record.
PROFILE_FIELDS = ("last_name", "first_name", "middle_name", "gender", "birth_date")
ADDRESS_FIELDS = (
    "kind",
    "city",
    "street",
    "building",
    "apartment",
    "postal_code",
    "region",
    "note",
)
POLICY_FIELDS = (
    "number",
    "insurer",
    "program",
    "status",
    "valid_from",
    "valid_to",
    "insured_person",
    "relationship",
    "coverage_notes",
)


@dataclass(frozen=True, slots=True)
class DataExport:
    json: str
    attachments: list[Attachment]


# ---- export


async def export_data(*, services: Services, caller: Caller, user: UserDocument) -> DataExport:
    """Everything held about ``user``, as stable, pretty JSON; their files listed apart."""
    public_url = services.settings.public_url
    own_contacts = await contacts.list_contacts(user.id)  # type: ignore[arg-type]
    primary = contacts.primary_ids(own_contacts)
    linked = await policies.linked(user=user)
    own_requests = (
        await RequestDocument.find({"user_id": user.id})
        .sort([("created_at", 1), ("_id", 1)])
        .to_list()
    )
    # A request's card may be linked no more; the request still names it, as the API does.
    policy_ids = list({request.policy_id for request in own_requests})
    numbers = {
        policy.id: policy.number
        for policy in await PolicyDocument.find({"_id": {"$in": policy_ids}}).to_list()
    }
    current_session = caller.session.id if caller.session else None
    data = {
        "format": EXPORT_FORMAT,
        "formatVersion": EXPORT_FORMAT_VERSION,
        "exportedAt": now(),
        "account": {
            **_fields(
                user,
                "email",
                "email_confirmed",
                "role",
                "locale",
                "created_at",
                "updated_at",
            ),
            "activePolicyNumber": linked.active.number if linked.active else None,
        },
        "profile": _fields(user.profile, *PROFILE_FIELDS),
        "contacts": [
            {
                **_fields(c, "kind", "value", "verified", "verified_at", "created_at"),
                "primary": c.id in primary,
                "codesSentAt": c.code_sends,
            }
            for c in own_contacts
        ],
        "addresses": [
            _fields(user.addresses[kind], *ADDRESS_FIELDS)
            for kind in AddressKind
            if kind in user.addresses
        ],
        "notificationSettings": {
            channel: [RequestStatus(status).name for status in statuses]
            for channel, statuses in user.notifications.model_dump().items()
        },
        "sessions": [
            {
                **_fields(s, "created_at", "last_seen_at", "expires_at", "user_agent", "ip"),
                "current": s.id == current_session,
            }
            for s in await list_sessions(user.id)  # type: ignore[arg-type]
        ],
        "emailLinks": [
            _fields(link, "purpose", "created_at", "expires_at", "used_at")
            for link in await EmailTokenDocument.find({"user_id": user.id})
            .sort("created_at")
            .to_list()
        ],
        "policies": [
            {**_fields(policy, *POLICY_FIELDS), "active": policy is linked.active}
            for policy in linked.policies
        ],
        "requests": [
            _request(request, numbers.get(request.policy_id), public_url)
            for request in own_requests
        ],
        "securityEvents": [
            _event(event, user)
            for event in await AuditEventDocument.find({"subject_id": user.id})
            .sort([("at", 1), ("_id", 1)])
            .to_list()
            if not _staff_only(event)
        ],
    }
    await audit.record(caller, AuditAction.DATA_EXPORTED, subject_id=user.id)
    return DataExport(
        json=json.dumps(_plain(data), ensure_ascii=False, indent=2, sort_keys=True),
        attachments=[
            attachment for request in own_requests for attachment in _attachments(request)
        ],
    )


def _fields(model: BaseModel, *names: str) -> dict[str, Any]:
    """Only the named fields: an allow-list, so hashes and secrets never slip in."""
    return model.model_dump(include=set(names))


def _attachments(request: RequestDocument) -> list[Attachment]:
    results = request.outcome.results if isinstance(request.outcome, LabTestsOutcome) else []
    return [
        *request.attachments,
        *results,
        *(
            attachment
            for comment in request.comments_for(staff=False)
            for attachment in comment.attachments
        ),
    ]


def _file(attachment: Attachment, public_url: str) -> dict[str, Any]:
    return {
        **_fields(attachment, "filename", "content_type", "size", "uploaded_at"),
        "url": files.download_url(public_url, attachment.id),
    }


def _request(
    request: RequestDocument, policy_number: str | None, public_url: str
) -> dict[str, Any]:
    """The request as its owner sees it in the API: who in the contact centre acted is not
    part of it, only that the contact centre did; staff's internal notes are not either."""
    return {
        **_fields(request, "number", "kind", "status", "created_at", "updated_at"),
        "policyNumber": policy_number,
        "details": request.details.model_dump(exclude={"kind"}),
        "history": [
            _fields(change, "status", "at", "comment", "by_operator")
            for change in request.status_changes()
        ],
        "comments": [
            {
                **_fields(comment, "text", "at", "by_operator"),
                "attachments": [_file(a, public_url) for a in comment.attachments],
            }
            for comment in request.comments_for(staff=False)
        ],
        "attachments": [_file(a, public_url) for a in request.attachments],
        "outcome": _outcome(request.outcome, public_url),
    }


def _outcome(outcome: Outcome | None, public_url: str) -> dict[str, Any] | None:
    """The outcome as its owner reads it: without who in the contact centre made a call."""
    if outcome is None:
        return None
    shown = outcome.model_dump(exclude={"kind", "attempts", "results"})
    if isinstance(outcome, CallbackOutcome):
        shown["attempts"] = [_fields(attempt, "at", "result") for attempt in outcome.attempts]
    if isinstance(outcome, LabTestsOutcome):
        shown["results"] = [_file(result, public_url) for result in outcome.results]
    return shown


def _staff_only(event: AuditEventDocument) -> bool:
    """An event the person is not shown: an internal note, or who in the contact centre
    handles their request (the API shows them a first name only)."""
    internal_note = event.action is AuditAction.REQUEST_COMMENTED and bool(
        (event.after or {}).get("internal")
    )
    return internal_note or event.action is AuditAction.REQUEST_ASSIGNED


def _event(event: AuditEventDocument, user: UserDocument) -> dict[str, Any]:
    """An event about the person; the network details only of what they did themselves
    (a failed sign-in may come from someone else, a status change from an operator)."""
    own = event.actor_id == user.id
    return {
        "at": event.at,
        "action": event.action,
        # By role: a signed-in customer trying someone else's sign-in is no operator.
        "byStaff": not own and event.actor_role in STAFF_ROLE_VALUES,
        "ip": event.ip if own else None,
        "userAgent": event.user_agent if own else None,
        "before": event.before,
        "after": event.after,
    }


def _plain(value: object) -> object:
    """JSON values: camelCase keys, ISO 8601 times, enum names as the API spells them."""
    match value:
        case dict():
            return {_camel(str(key)): _plain(item) for key, item in value.items()}
        case list() | tuple():
            return [_plain(item) for item in value]
        case datetime() | date():
            return value.isoformat()
        case Enum():
            return value.name
        case ObjectId():
            return str(value)
        case _:
            return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


# ---- deletion


async def delete_account(
    *, services: Services, caller: Caller, user: UserDocument, password: str
) -> Done | InvalidCredentials | RateLimited:
    """Erase the account after the password is typed again; see the module's docstring."""
    # The same budget as changePassword: both re-check the password of a signed-in account.
    if exceeded := await services.rate_limits.hit(
        rate_limit.PASSWORD_CHANGE_PER_ACCOUNT, str(user.id)
    ):
        return RateLimited(exceeded.retry_after_seconds)
    if not await services.passwords.verify(user.password_hash, password):
        return InvalidCredentials("error.wrong_password")
    marked = await UserDocument.get_pymongo_collection().update_one(
        {"_id": user.id, "deleting_since": None}, {"$set": {"deleting_since": now()}}
    )
    if marked.modified_count:  # not twice for aliases or parallel calls
        await audit.record(caller, AuditAction.ACCOUNT_DELETED, subject_id=user.id)
    try:
        await erase(user.id, services.database)  # type: ignore[arg-type]
    except Exception:  # the account is closed already; `keep_erasing` finishes the rest
        logger.exception("erasing account %s failed; it will be retried", user.id)
    return Done("account.deleted", {})


async def erase(user_id: PydanticObjectId, database: Database) -> None:
    """Erase a marked account's data; every step may run again after a crash. Last, what
    was erased is made unreadable on the embedded database's disk too."""
    user = await UserDocument.get(user_id)
    if user is None or user.deleting_since is None:
        return
    await end_sessions(user_id)
    await EmailTokenDocument.find({"user_id": user_id}).delete()
    await CardLinkDocument.find({"issued_by": user_id}).delete()
    own_contacts = await ContactDocument.find({"user_id": user_id}).to_list()
    # Undelivered messages may hold codes, links and request news; delivered ones are
    # already scrubbed of their text, and their recipient goes too.
    recipients = [user.email, *(contact.value for contact in own_contacts)]
    await OutboxMessageDocument.find({"recipient": {"$in": recipients}}).delete()
    # Raw documents: a request this version cannot read must not stop the erasure.
    for request in (
        await RequestDocument.get_pymongo_collection()
        .find(
            {"user_id": user_id, "anonymised_at": None},
            {"user_id": 1, "kind": 1, "history": 1, "outcome": 1},
        )
        .to_list()
    ):
        await _anonymise(request)
    await files.delete_owned_by(user_id)
    await ContactDocument.find({"user_id": user_id}).delete()
    await UserDocument.find_one({"_id": user_id, "deleting_since": {"$ne": None}}).delete()
    await database.wipe_journal()


async def _anonymise(request: dict[str, Any]) -> None:
    """One update: positions in the history only grow, so concurrent changes are kept.
    Details of a kind this version does not know are erased whole."""
    unset: dict[str, object] = {"idempotency_key": ""}
    changes: dict[str, object] = {"attachments": [], "comments": [], "anonymised_at": now()}
    if request.get("kind") in RequestKind:
        kind = RequestKind(request["kind"])
        changes |= {f"details.{name}": value for name, value in PERSONAL_DETAILS[kind].items()}
    else:
        unset["details"] = ""
    outcome = request.get("outcome") or {}
    if "results" in outcome:  # lab results: the owner's files, erased
        changes["outcome.results"] = []
    # What staff wrote to the person is free text too; where and when, and why a claim was
    # refused (its reason), stay for the insurer.
    if outcome.get("instructions") is not None:
        changes["outcome.instructions"] = None
    refusals = outcome.get("refusals")
    for index in range(len(refusals) if isinstance(refusals, list) else 0):
        changes[f"outcome.refusals.{index}.text"] = None
    history = request.get("history")
    for index in range(len(history) if isinstance(history, list) else 0):
        changes[f"history.{index}.comment"] = None
    await RequestDocument.get_pymongo_collection().update_one(
        one_request(request["_id"], request["user_id"]), {"$set": changes, "$unset": unset}
    )


async def finish_deletions(database: Database) -> int:
    """Finish deletions a crash or an error interrupted; the number of accounts erased.
    One account that fails is logged and left for the next round, not the others."""
    pending = (
        await UserDocument.get_pymongo_collection()
        .find({"deleting_since": {"$type": "date"}}, {"_id": 1})
        .to_list()
    )
    erased = 0
    for user in pending:
        try:
            await erase(user["_id"], database)
        except Exception:
            logger.exception("erasing account %s failed; it will be retried", user["_id"])
        else:
            erased += 1
    return erased


async def keep_erasing(database: Database, interval: timedelta = timedelta(hours=1)) -> None:
    """The background task that finishes interrupted deletions: at start, then hourly."""
    await repeat(
        lambda: finish_deletions(database), interval, what="looking for interrupted deletions"
    )
