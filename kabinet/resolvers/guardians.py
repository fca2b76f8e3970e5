"""Guardian access ends at 18: telling the parents a month before.

A child's card (relationship CHILD) is shown to the accounts of its phones until the
child's 18th birthday, or the day after the registry's `guardian_access_until`
(`PolicyDocument.guardian_access_end`; the read scope is `policies.guardian_sees`).
Each card stores when its notice is due (`guardian_notice_at`, partial index
`guardian_notice`); every process looks for due ones at start and every hour. The
messages go to the outbox under a key naming the card, the end and the account, so
two processes, or a round repeated after a crash, queue each once; then one update
conditional on the notice time read takes the card off the index and records the end
told (`guardian_announced_ends`), so a registry row written again with the same end
is not announced again, but a new end is.
"""

import logging
from datetime import date, timedelta

from pymongo import UpdateOne

from kabinet.auth.sessions import live_account
from kabinet.clock import now
from kabinet.documents import ContactDocument, ContactKind, PolicyDocument, UserDocument
from kabinet.documents.policy import Relationship, midnight
from kabinet.notify import templates
from kabinet.periodic import repeat
from kabinet.resolvers.notifications import tell_news
from kabinet.resolvers.requests.due import passed
from kabinet.services import Services

logger = logging.getLogger(__name__)

CHECK_INTERVAL = timedelta(hours=1)


async def announce_endings(services: Services) -> int:
    """Tell the accounts of each card whose guardian-access notice is due that their access
    ends; how many cards were announced. A card whose end has come already, or was told,
    only leaves the index."""
    moment = now()
    told = 0
    done: list[UpdateOne] = []
    async for card in PolicyDocument.find({"guardian_notice_at": passed(moment)}):
        ends = card.guardian_access_ends
        announced = (
            ends is not None and ends > moment.date() and ends != card.guardian_announced_ends
        )
        if announced:
            try:
                await _tell_guardians(services, card, ends)
            except Exception:
                logger.exception("announcing the end of card %s failed; retried", card.id)
                continue
            told += 1
        done.append(
            UpdateOne(
                {"_id": card.id, "guardian_notice_at": card.guardian_notice_at},
                {
                    "$set": {
                        "guardian_notice_at": None,
                        **({"guardian_announced_ends": midnight(ends)} if announced else {}),
                    }
                },
            )
        )
    if done:
        await PolicyDocument.get_pymongo_collection().bulk_write(done, ordered=False)
    return told


async def _tell_guardians(services: Services, card: PolicyDocument, ends: date) -> None:
    """Each account that sees ``card`` through a confirmed phone, by its channels and in its
    language, that its access ends on ``ends``."""
    confirmed = await ContactDocument.find(
        {"value": {"$in": card.phones}, "kind": ContactKind.PHONE.value, "verified": True}
    ).to_list()
    accounts = {contact.user_id for contact in confirmed}
    for owner in await UserDocument.find({"_id": {"$in": list(accounts)}}).to_list():
        if not live_account(owner):
            continue
        await tell_news(
            services,
            owner,
            key=f"guardian:{card.id}:{ends.isoformat()}:{owner.id}",
            sms=templates.guardian_access_ends_sms(owner.locale, number=card.number, ends=ends),
            email=templates.guardian_access_ends_email(
                owner.locale, number=card.number, name=card.insured_person.full_name, ends=ends
            ),
        )


async def fill_missing_guardian_fields(batch_size: int = 500) -> int:
    """Give the child's cards stored before guardian access ended at 18 their guardian
    fields, ``batch_size`` at a time; how many were filled. Idempotent: a card written
    meanwhile (by an import) has them and is left as it is."""
    missing = {"relationship": Relationship.CHILD.value, "guardian_access_ends": {"$exists": False}}
    filled = 0
    while cards := await PolicyDocument.find(missing).limit(batch_size).to_list():
        await PolicyDocument.get_pymongo_collection().bulk_write(
            [
                UpdateOne({"_id": card.id, **missing}, {"$set": card.stored_guardian_fields()})
                for card in cards
            ],
            ordered=False,
        )
        filled += len(cards)
    return filled


async def keep_announcing_endings(services: Services, interval: timedelta = CHECK_INTERVAL) -> None:
    """The background task every process runs: the older cards' fields once, then the
    notices at start and every ``interval``."""
    try:
        if filled := await fill_missing_guardian_fields():
            logger.info("guardian access ends written for %d older child's cards", filled)
    except Exception:  # the next start finishes it; until then those cards have no end
        logger.exception("writing the guardian access ends of older cards failed")
    await repeat(
        lambda: announce_endings(services), interval, what="announcing guardian access endings"
    )
