"""Telling the person about a status change, even when the cabinet is closed.

The status update itself records the change as `unannounced` on the request; the
messages are written to the outbox and only then is the change pulled from that
list, so a crash in between leaves it for `keep_announcing`, which every process
runs at start and every minute. Each message carries the history entry's id as
its outbox dedupe key, so however often this runs for one change, each channel
sends it once.
"""

import logging
from datetime import timedelta

from kabinet.auth.sessions import live_account
from kabinet.documents import RequestDocument, UserDocument
from kabinet.documents.request import OutcomeNews, RequestStatus, StatusChange, one_request
from kabinet.notify import templates
from kabinet.periodic import repeat
from kabinet.resolvers import contacts
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem, InvalidInput
from kabinet.services import Services

logger = logging.getLogger(__name__)

SWEEP_INTERVAL = timedelta(minutes=1)
# The sweeper's query: exactly the partial index `unannounced` of `requests`.
PENDING = {"unannounced_since": {"$type": "date"}}


async def announce_pending(services: Services, request: RequestDocument) -> None:
    """Announce the request's pending changes, marking each one done once its messages are
    in the outbox; then, unless another change came meanwhile, take the request off the
    sweeper's index."""
    collection = RequestDocument.get_pymongo_collection()
    this_request = one_request(request.id, request.user_id)
    changes = {change.id: change for change in request.history}
    news = {pending.id: pending for pending in request.unannounced_news}
    for pending_id in request.unannounced:
        if change := changes.get(pending_id):
            await announce(services, request, change)
        elif told := news.get(pending_id):
            await announce_outcome(services, request, told.news, key=told.key)
        await collection.update_one(
            this_request,
            {"$pull": {"unannounced": pending_id, "unannounced_news": {"id": pending_id}}},
        )
    await collection.update_one(
        {**this_request, "unannounced": {"$size": 0}}, {"$set": {"unannounced_since": None}}
    )


async def announce_all_pending(services: Services) -> int:
    """Announce what a crash left pending; the number of requests done. One that fails is
    logged and left for the next round, not the others."""
    done = 0
    async for request in RequestDocument.find(PENDING):
        try:
            await announce_pending(services, request)
        except Exception:
            logger.exception("announcing request %s failed; it will be retried", request.id)
        else:
            done += 1
    return done


async def keep_announcing(services: Services, interval: timedelta = SWEEP_INTERVAL) -> None:
    """The background task that finishes interrupted announcements: at start, then
    every ``interval`` (another process may have died with some pending)."""
    await repeat(
        lambda: announce_all_pending(services), interval, what="looking for pending announcements"
    )


async def announce(services: Services, request: RequestDocument, change: StatusChange) -> None:
    owner = await UserDocument.get(request.user_id)
    if not live_account(owner):  # gone, or being deleted: nobody to tell
        return
    status = change.status.value
    # A comment written for the person is part of the message; it may be long for SMS,
    # so only its start goes there.
    comment = (change.comment or "")[:120] or None
    if status in owner.notifications.sms and (phone := await contacts.primary_phone(owner.id)):
        text = templates.request_status_sms(
            owner.locale, number=request.number, status=status, comment=comment
        )
        await services.outbox.send_sms(phone, text, dedupe_key=f"{change.id}:sms")
    if status in owner.notifications.email:
        content = templates.request_status_email(
            owner.locale, number=request.number, status=status, comment=change.comment
        )
        await services.outbox.send_email(owner.email, content, dedupe_key=f"{change.id}:email")


async def announce_outcome(
    services: Services, request: RequestDocument, news: OutcomeNews, *, key: str
) -> None:
    """Tell the owner news of their request's outcome (results ready, a payout made) on each
    channel they take request news on (any status announced there); ``key`` names the news
    once, so a repeat sends nothing."""
    owner = await UserDocument.get(request.user_id)
    if not live_account(owner):
        return
    await tell_news(
        services,
        owner,
        key=key,
        sms=templates.outcome_sms(owner.locale, news, number=request.number),
        email=templates.outcome_email(owner.locale, news, number=request.number),
    )


async def tell_news(
    services: Services, owner: UserDocument, *, key: str, sms: str, email: templates.EmailContent
) -> None:
    """Tell the account news that is not a status change on each channel it takes request
    news on (any status announced there); ``key`` names the news once per account, so a
    repeat sends nothing."""
    if owner.notifications.sms and (phone := await contacts.primary_phone(owner.id)):
        await services.outbox.send_sms(phone, sms, dedupe_key=f"{key}:sms")
    if owner.notifications.email:
        await services.outbox.send_email(owner.email, email, dedupe_key=f"{key}:email")


async def update_settings(
    *, user: UserDocument, sms: list[RequestStatus], email: list[RequestStatus]
) -> UserDocument | InvalidInput:
    if RequestStatus.SUBMITTED in sms or RequestStatus.SUBMITTED in email:
        path = "sms" if RequestStatus.SUBMITTED in sms else "email"
        return InvalidInput([FieldProblem(path, FieldErrorCode.STATUS_NOT_ANNOUNCED)])
    settings = {"sms": sorted({s.value for s in sms}), "email": sorted({s.value for s in email})}
    await user.set({"notifications": settings})
    return user
