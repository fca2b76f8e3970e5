"""Telling the person about a status change, even when the cabinet is closed.

Each message carries the history entry's id as its outbox dedupe key, so however
often this runs for one change, each channel sends it once.
"""

from kabinet.auth.sessions import live_account
from kabinet.documents import ContactKind, RequestDocument, UserDocument
from kabinet.documents.request import RequestStatus, StatusChange
from kabinet.notify import templates
from kabinet.resolvers import contacts
from kabinet.resolvers.errors import FieldProblem, InvalidInput
from kabinet.services import Services


async def announce(services: Services, request: RequestDocument, change: StatusChange) -> None:
    owner = await UserDocument.get(request.user_id)
    if not live_account(owner):  # gone, or being deleted: nobody to tell
        return
    status = change.status.value
    # A comment written for the person is part of the message; it may be long for SMS,
    # so only its start goes there.
    comment = (change.comment or "")[:120] or None
    if status in owner.notifications.sms and (phone := await _primary_phone(owner)):
        text = templates.request_status_sms(
            owner.locale, number=request.number, status=status, comment=comment
        )
        await services.outbox.send_sms(phone, text, dedupe_key=f"{change.id}:sms")
    if status in owner.notifications.email:
        content = templates.request_status_email(
            owner.locale, number=request.number, status=status, comment=change.comment
        )
        await services.outbox.send_email(owner.email, content, dedupe_key=f"{change.id}:email")


async def _primary_phone(user: UserDocument) -> str | None:
    own = await contacts.list_contacts(user.id)  # type: ignore[arg-type]
    primary = contacts.primary_ids(own)
    return next((c.value for c in own if c.id in primary and c.kind is ContactKind.PHONE), None)


async def update_settings(
    *, user: UserDocument, sms: list[RequestStatus], email: list[RequestStatus]
) -> UserDocument | InvalidInput:
    if RequestStatus.SUBMITTED in sms or RequestStatus.SUBMITTED in email:
        path = "sms" if RequestStatus.SUBMITTED in sms else "email"
        return InvalidInput([FieldProblem(path, "field.status_not_announced")])
    settings = {"sms": sorted({s.value for s in sms}), "email": sorted({s.value for s in email})}
    await user.set({"notifications": settings})
    return user
