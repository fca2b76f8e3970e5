"""Documents people send (receipts, prescriptions, reports): checked by content, kept in GridFS."""

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from beanie import PydanticObjectId
from bson import ObjectId
from gridfs import AsyncGridFSBucket
from pymongo.asynchronous.database import AsyncDatabase
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from kabinet.auth.sessions import request_session
from kabinet.clock import now
from kabinet.config import Settings
from kabinet.documents import Attachment, RequestDocument, SessionDocument, UserDocument
from kabinet.documents.files import CHUNK_SIZE, CHUNKS, FILES
from kabinet.periodic import repeat
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem
from kabinet.resolvers.links import LinkKind, LinkSigner
from kabinet.resolvers.scopes import Filter, within

logger = logging.getLogger(__name__)

MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024
# The extensions a download's name may end with, per detected type; the first is added.
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/heic": (".heic", ".heif"),
}
# Documents staff send a person (lab results): what every reader opens, so no HEIC.
DOCUMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1"}


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """An uploaded file, read up to one byte past the limit (so oversize is detectable)."""

    filename: str
    content: bytes


def sniff_content_type(content: bytes) -> str | None:
    """PDF, JPEG, PNG or HEIC by their magic bytes; ``None`` for anything else."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[4:8] == b"ftyp" and content[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


def file_problems(
    files: list[IncomingFile],
    path: str,
    *,
    required: bool,
    types: frozenset[str] | None = None,
) -> list[FieldProblem]:
    """What is wrong with ``files``: missing, too many, too large, or not a recognised type
    (PDF, JPEG, PNG, HEIC; only ``types`` when given: `RESULT_TYPE_NOT_ALLOWED`)."""
    if required and not files:
        return [FieldProblem(path, FieldErrorCode.FILES_REQUIRED)]
    if len(files) > MAX_FILES:
        return [FieldProblem(path, FieldErrorCode.TOO_MANY_FILES, {"max_files": MAX_FILES})]
    problems = []
    for index, file in enumerate(files):
        if len(file.content) > MAX_FILE_BYTES:
            problems.append(
                FieldProblem(f"{path}[{index}]", FieldErrorCode.FILE_TOO_LARGE, {"max_mb": 10})
            )
        elif (detected := sniff_content_type(file.content)) is None:
            problems.append(FieldProblem(f"{path}[{index}]", FieldErrorCode.FILE_TYPE_NOT_ALLOWED))
        elif types is not None and detected not in types:
            problems.append(
                FieldProblem(f"{path}[{index}]", FieldErrorCode.RESULT_TYPE_NOT_ALLOWED)
            )
    return problems


def safe_filename(name: str) -> str:
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return cleaned[:150] or "document"


def download_url(public_url: str, file_id: PydanticObjectId) -> str:
    """Where the file is downloaded with the bearer header (the `/files/{id}` route)."""
    return f"{public_url.rstrip('/')}/files/{file_id}"


def signed_download_url(
    public_url: str, file_id: PydanticObjectId, *, links: LinkSigner, viewer_id: ObjectId
) -> str:
    """The same, opening for ``viewer_id`` with no header for a while (`resolvers.links`)."""
    return f"{download_url(public_url, file_id)}?{links.query(LinkKind.FILE, file_id, viewer_id)}"


def _bucket() -> AsyncGridFSBucket:
    return AsyncGridFSBucket(_database())


def _database() -> AsyncDatabase[dict[str, Any]]:
    return RequestDocument.get_pymongo_collection().database


def download_name(filename: str, content_type: str) -> str:
    """``filename`` ending with an extension of the detected type, appended when it has
    another one (``poly.html`` is ``poly.html.pdf``): a browser opens a download by its
    name, so a PDF must not be named as a page."""
    extensions = EXTENSIONS.get(content_type)
    if not extensions or filename.lower().endswith(extensions):
        return filename
    return filename + extensions[0]


async def store(
    files: list[IncomingFile],
    *,
    owner_id: PydanticObjectId,
    request_id: PydanticObjectId,
    internal: bool = False,
) -> list[Attachment]:
    """Write checked files to GridFS; on any failure, remove what was written and re-raise.

    Each file's entry (with its owner, and ``pending`` until the sweep sees its request
    refer to it) is written before its chunks, so bytes a crash leaves behind are always
    found by owner and by the sweep. The files of an internal note are ``internal``: their
    owner (whose request it is) cannot download them."""
    stored: list[Attachment] = []
    try:
        for file in files:
            content_type = sniff_content_type(file.content) or "application/octet-stream"
            attachment = Attachment(
                id=PydanticObjectId(),
                filename=download_name(safe_filename(file.filename), content_type),
                content_type=content_type,
                size=len(file.content),
                uploaded_at=now(),
            )
            stored.append(attachment)
            await _write(
                attachment,
                file.content,
                owner_id=owner_id,
                request_id=request_id,
                internal=internal,
            )
    except BaseException:
        await delete(stored)
        raise
    return stored


async def _write(
    attachment: Attachment,
    content: bytes,
    *,
    owner_id: PydanticObjectId,
    request_id: PydanticObjectId,
    internal: bool,
) -> None:
    """The GridFS layout the driver reads, entry first (the driver's upload writes it last)."""
    database = _database()
    await database[FILES].insert_one(
        {
            "_id": attachment.id,
            "length": attachment.size,
            "chunkSize": CHUNK_SIZE,
            "uploadDate": attachment.uploaded_at,
            "filename": attachment.filename,
            "metadata": {
                "contentType": attachment.content_type,
                "owner_id": owner_id,
                "request_id": request_id,
                "pending": True,
                "internal": internal,
            },
        }
    )
    chunks = [
        {"files_id": attachment.id, "n": n, "data": content[start : start + CHUNK_SIZE]}
        for n, start in enumerate(range(0, len(content), CHUNK_SIZE))
    ]
    if chunks:
        await database[CHUNKS].insert_many(chunks)


async def delete(attachments: list[Attachment]) -> None:
    await _delete_files([attachment.id for attachment in attachments])


async def _delete_files(file_ids: list[ObjectId]) -> None:
    """Chunks first: an entry outlives its bytes, so a crash midway leaves it findable."""
    if not file_ids:
        return
    database = _database()
    await database[CHUNKS].delete_many({"files_id": {"$in": file_ids}})
    await database[FILES].delete_many({"_id": {"$in": file_ids}})


async def delete_owned_by(owner_id: PydanticObjectId) -> None:
    """Every file of an owner's requests (and of comments on them), whoever uploaded it,
    and those a crash left without a request."""
    found = _database()[FILES].find({"metadata.owner_id": owner_id}, {"_id": True})
    await _delete_files([file["_id"] async for file in found])


async def sweep(grace: timedelta) -> int:
    """Delete files stored over ``grace`` ago that their request does not refer to (the
    upload's request or comment was never written: a crash, a lost race); the files it
    does refer to are no longer pending. Returns how many were deleted."""
    database = _database()
    pending = (
        await database[FILES]
        .find(
            {"metadata.pending": True, "uploadDate": {"$lt": now() - grace}},
            {"metadata.request_id": True},
        )
        .to_list()
    )
    if not pending:
        return 0
    request_ids = list({file["metadata"].get("request_id") for file in pending})
    requests = RequestDocument.get_pymongo_collection().find(
        {"_id": {"$in": request_ids}},
        {"attachments.id": True, "comments.attachments.id": True, "outcome.results.id": True},
    )
    referenced = {
        attachment["id"]
        async for request in requests
        for attachment in [
            *request.get("attachments", []),
            *(a for comment in request.get("comments", []) for a in comment.get("attachments", [])),
            *(request.get("outcome") or {}).get("results", []),
        ]
    }
    kept = [file["_id"] for file in pending if file["_id"] in referenced]
    orphans = [file["_id"] for file in pending if file["_id"] not in referenced]
    if kept:
        await database[FILES].update_many(
            {"_id": {"$in": kept}}, {"$unset": {"metadata.pending": ""}}
        )
    await _delete_files(orphans)
    if orphans:
        logger.info("deleted %d uploaded files no request refers to", len(orphans))
    return len(orphans)


async def keep_sweeping(grace: timedelta) -> None:
    """The background task that deletes orphaned uploads: at start, then every ``grace``."""
    await repeat(lambda: sweep(grace), grace, what="sweeping orphaned uploads")


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    content_type: str
    content: bytes


def readable(user: UserDocument | None) -> Filter | None:
    """The files ``user`` may download: staff every one, a customer those of their own
    requests and comments but not of staff's internal notes, nobody signed out any."""
    if user is None:
        return None
    return (
        {} if user.is_staff else {"metadata.owner_id": user.id, "metadata.internal": {"$ne": True}}
    )


async def download(*, user: UserDocument, file_id: PydanticObjectId) -> Download | None:
    """The file if ``user`` may read it (`readable`); ``None`` (not found) otherwise."""
    async for stream in _bucket().find(within(readable(user), {"_id": file_id}), limit=1):
        metadata = stream.metadata or {}
        content_type = metadata.get("contentType", "application/octet-stream")
        return Download(
            # Files stored before names were given their type's extension get it here.
            filename=download_name(stream.filename or "document", content_type),
            content_type=content_type,
            content=await stream.read(),
        )
    return None


async def download_response(request: Request, *, settings: Settings, links: LinkSigner) -> Response:
    """The `/files/{file_id}` route: a request's file, for its owner and staff, with
    `Authorization: Bearer` or a signed link (`Attachment.url`)."""
    file_id = path_object_id(request, "file_id")
    who = await downloader(request, LinkKind.FILE, file_id, settings=settings, links=links)
    if isinstance(who, Response):
        return who
    found = await download(user=who[1], file_id=file_id) if file_id else None
    if found is None:
        return forbidden() if who[0] is None else not_found()
    return attachment_response(found)


async def downloader(
    request: Request,
    kind: LinkKind,
    subject_id: ObjectId | None,
    *,
    settings: Settings,
    links: LinkSigner,
) -> tuple[SessionDocument | None, UserDocument] | Response:
    """Who downloads, with their session: the bearer header's account (refused with a link
    issued to someone else), else a signed link's viewer (no session). A refusal is the
    response to send: 401 without either, 403 for a link that is altered, expired,
    revoked or someone else's, saying nothing more."""
    resolved = await request_session(request, ttl=settings.session_ttl)
    signed = request.query_params
    if resolved is not None:  # the header decides, but not for a link of someone else
        foreign = "viewer" in signed and signed["viewer"] != str(resolved[1].id)
        return forbidden() if foreign else resolved
    if "signature" not in signed:
        return sign_in_first()
    viewer = await links.viewer(kind, subject_id, signed) if subject_id else None
    return (None, viewer) if viewer is not None else forbidden()


def sign_in_first() -> Response:
    return PlainTextResponse("Sign in first.", 401, {"WWW-Authenticate": "Bearer"})


def forbidden() -> Response:
    return PlainTextResponse("This link does not open.", 403)


def not_found() -> Response:
    """The same for what does not exist and for what is someone else's: no hint either way."""
    return PlainTextResponse("Not found.", 404)


def path_object_id(request: Request, name: str) -> PydanticObjectId | None:
    """The database id in the path parameter ``name``, if it is one."""
    value: str = request.path_params[name]
    return PydanticObjectId(value) if ObjectId.is_valid(value) else None


def attachment_response(found: Download) -> Response:
    """A download that browsers save (never open as a page), kept by no cache."""
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
