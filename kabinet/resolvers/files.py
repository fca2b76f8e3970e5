"""Documents people send (receipts, prescriptions, reports): checked by content, kept in GridFS."""

import re
import unicodedata
from dataclasses import dataclass

from beanie import PydanticObjectId
from gridfs import AsyncGridFSBucket, NoFile

from kabinet.clock import now
from kabinet.documents import Attachment, RequestDocument, UserDocument
from kabinet.resolvers.errors import FieldProblem

MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024
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


def file_problems(files: list[IncomingFile], path: str, *, required: bool) -> list[FieldProblem]:
    if required and not files:
        return [FieldProblem(path, "field.files_required")]
    if len(files) > MAX_FILES:
        return [FieldProblem(path, "field.too_many_files", {"max_files": MAX_FILES})]
    problems = []
    for index, file in enumerate(files):
        if len(file.content) > MAX_FILE_BYTES:
            problems.append(
                FieldProblem(f"{path}[{index}]", "field.file_too_large", {"max_mb": 10})
            )
        elif sniff_content_type(file.content) is None:
            problems.append(FieldProblem(f"{path}[{index}]", "field.file_type_not_allowed"))
    return problems


def safe_filename(name: str) -> str:
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return cleaned[:150] or "document"


def download_url(public_url: str, file_id: PydanticObjectId) -> str:
    """Where the file is downloaded (the `/files/{id}` route, with the bearer token)."""
    return f"{public_url.rstrip('/')}/files/{file_id}"


def _bucket() -> AsyncGridFSBucket:
    return AsyncGridFSBucket(RequestDocument.get_pymongo_collection().database)


async def store(
    files: list[IncomingFile], *, owner_id: PydanticObjectId, request_id: PydanticObjectId
) -> list[Attachment]:
    """Write checked files to GridFS; on any failure, remove what was written and re-raise."""
    stored: list[Attachment] = []
    try:
        for file in files:
            content_type = sniff_content_type(file.content) or "application/octet-stream"
            filename = safe_filename(file.filename)
            file_id = await _bucket().upload_from_stream(
                filename,
                file.content,
                metadata={
                    "contentType": content_type,
                    "owner_id": owner_id,
                    "request_id": request_id,
                },
            )
            stored.append(
                Attachment(
                    id=PydanticObjectId(file_id),
                    filename=filename,
                    content_type=content_type,
                    size=len(file.content),
                    uploaded_at=now(),
                )
            )
    except BaseException:
        await delete(stored)
        raise
    return stored


async def delete(attachments: list[Attachment]) -> None:
    for attachment in attachments:
        try:
            await _bucket().delete(attachment.id)
        except NoFile:
            continue


async def delete_owned_by(owner_id: PydanticObjectId) -> None:
    """Every file of an owner's requests (and of comments on them), whoever uploaded it."""
    stored = RequestDocument.get_pymongo_collection().database["fs.files"]
    found = stored.find({"metadata.owner_id": owner_id}, {"_id": True})
    for file_id in [file["_id"] async for file in found]:
        try:
            await _bucket().delete(file_id)
        except NoFile:  # deleted meanwhile
            continue


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    content_type: str
    content: bytes


async def download(*, user: UserDocument, file_id: PydanticObjectId) -> Download | None:
    """The file if ``user`` owns its request or is staff; ``None`` (not found) otherwise."""
    try:
        stream = await _bucket().open_download_stream(file_id)
    except NoFile:
        return None
    metadata = stream.metadata or {}
    if not user.is_staff and metadata.get("owner_id") != user.id:
        return None
    return Download(
        filename=stream.filename or "document",
        content_type=metadata.get("contentType", "application/octet-stream"),
        content=await stream.read(),
    )
