"""The read path's floor: `me` as a plain Starlette JSON endpoint, the reads made by hand.

It answers exactly what READ_QUERY asks kabinet for (the benchmark checks the two
answers are equal) with the reads that answer needs, on PyMongo's raw collections:
the session, the account, its contacts, the cards its confirmed phones link, one page
of requests, and the cards of that page that are not among the linked ones (usually
none), the cards through kabinet's own filters (a grown child's card is the child's).
No GraphQL, no models, no DataLoaders: what this stack costs at the least.
"""

from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from kabinet.auth.sessions import bearer_token
from kabinet.auth.tokens import token_hash
from kabinet.clock import now
from kabinet.documents import (
    AddressKind,
    ContactDocument,
    PolicyDocument,
    Relationship,
    RequestDocument,
    SessionDocument,
    UserDocument,
)
from kabinet.resolvers.policies import guardian_sees, linked_through

PAGE = 20  # the `first` of READ_QUERY
READ_QUERY = """query Me {
  me {
    profile { lastName firstName middleName gender birthDate complete }
    contacts { kind value verified primary }
    addresses { kind city street building apartment postalCode }
    policies { number insurer program status validFrom validTo relationship active }
    requests(first: 20) { edges { node { number status policy { number } } } }
  }
}"""

type Raw = dict[str, Any]
_RELATIONSHIPS = [relationship.value for relationship in Relationship]


def _enum(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value is not None else None


def _profile(user: Raw) -> Raw:
    profile = user.get("profile") or {}
    required = ("last_name", "first_name", "gender", "birth_date")
    return {
        "lastName": profile.get("last_name"),
        "firstName": profile.get("first_name"),
        "middleName": profile.get("middle_name"),
        "gender": _enum(profile.get("gender")),
        "birthDate": _day(profile.get("birth_date")),
        "complete": all(profile.get(key) is not None for key in required),
    }


def _contacts(contacts: list[Raw]) -> list[Raw]:
    primary: dict[str, Any] = {}
    verified = [c for c in contacts if c["verified"] and c.get("verified_at")]
    for contact in sorted(verified, key=lambda c: c["verified_at"]):
        primary.setdefault(contact["kind"], contact["_id"])
    return [
        {
            "kind": _enum(c["kind"]),
            "value": c["value"],
            "verified": c["verified"],
            "primary": primary.get(c["kind"]) == c["_id"],
        }
        for c in contacts
    ]


def _addresses(user: Raw) -> list[Raw]:
    stored = user.get("addresses") or {}
    return [
        {
            "kind": _enum(address["kind"]),
            "city": address["city"],
            "street": address["street"],
            "building": address["building"],
            "apartment": address.get("apartment"),
            "postalCode": address.get("postal_code"),
        }
        for kind in AddressKind
        if (address := stored.get(kind.value))
    ]


def _policy(card: Raw, active_id: object) -> Raw:
    return {
        "number": card["number"],
        "insurer": card["insurer"],
        "program": card["program"],
        "status": _enum(card["status"]),
        "validFrom": _day(card["valid_from"]),
        "validTo": _day(card["valid_to"]),
        "relationship": _enum(card["relationship"]),
        "active": card["_id"] == active_id,
    }


async def me(request: Request) -> Response:
    token = bearer_token(request.headers.get("authorization"))
    session = await SessionDocument.get_pymongo_collection().find_one(
        {"token_hash": token_hash(token or ""), "expires_at": {"$gt": now()}}
    )
    user = session and await UserDocument.get_pymongo_collection().find_one(
        {"_id": session["user_id"]}
    )
    if not user:
        return PlainTextResponse("Sign in first.", 401)
    contacts = (
        await ContactDocument.get_pymongo_collection()
        .find({"user_id": user["_id"]})
        .sort("created_at")
        .to_list()
    )
    phones = [c["value"] for c in contacts if c["kind"] == "phone" and c["verified"]]
    policies = PolicyDocument.get_pymongo_collection()
    cards = await policies.find(linked_through(phones)).to_list() if phones else []
    cards.sort(key=lambda card: (_RELATIONSHIPS.index(card["relationship"]), card["number"]))
    by_id = {card["_id"]: card for card in cards}
    active_id = user.get("active_policy_id")
    if active_id not in by_id:
        active_id = cards[0]["_id"] if cards else None
    page = (
        await RequestDocument.get_pymongo_collection()
        .find({"user_id": user["_id"]})
        .sort([("created_at", -1), ("_id", -1)])
        .limit(PAGE)
        .to_list()
    )
    if missing := {r["policy_id"] for r in page} - by_id.keys():
        shown = {"_id": {"$in": list(missing)}, **guardian_sees(now().date())}
        by_id |= {p["_id"]: p for p in await policies.find(shown).to_list()}
    answer = {
        "profile": _profile(user),
        "contacts": _contacts(contacts),
        "addresses": _addresses(user),
        "policies": [_policy(card, active_id) for card in cards],
        "requests": {
            "edges": [
                {
                    "node": {
                        "number": r["number"],
                        "status": _enum(r["status"]),
                        "policy": {"number": card["number"]}
                        if (card := by_id.get(r["policy_id"]))
                        else None,
                    }
                }
                for r in page
            ]
        },
    }
    return Response(orjson.dumps({"data": {"me": answer}}), media_type="application/json")
