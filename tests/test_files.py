"""Uploaded documents: download names, and bytes a crashed upload leaves behind."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId
from gridfs import AsyncGridFSBucket
from pymongo.asynchronous.database import AsyncDatabase

from kabinet.clock import clock
from kabinet.documents import RequestDocument, UserDocument
from kabinet.documents.files import CHUNK_SIZE
from kabinet.resolvers import files
from kabinet.resolvers.files import IncomingFile
from tests.operations import ADD_COMMENT, DELETE_ACCOUNT
from tests.requests_support import PDF, PNG, callback, customer, multipart
from tests.support import PASSWORD, Api, CommandLog, Mailbox, bearer_path
from tests.test_requests import reimbursement

GRACE = timedelta(hours=1)
# Three chunks: a crash can stop an upload between them.
LARGE_PDF = b"%PDF-1.7\n" + b"1" * (2 * CHUNK_SIZE + 100)


@pytest.fixture
async def token(api: Api, mailbox: Mailbox) -> str:
    return await customer(api, mailbox)


def database() -> AsyncDatabase[dict[str, Any]]:
    return RequestDocument.get_pymongo_collection().database


async def stored_ids() -> tuple[set[object], set[object]]:
    """The ids of file entries and the file ids their chunks belong to."""
    entries = {file["_id"] async for file in database()["fs.files"].find({}, {"_id": 1})}
    chunk_owners = set(await database()["fs.chunks"].distinct("files_id"))
    return entries, chunk_owners


async def download(api: Api, token: str, url: str) -> httpx.Response:
    path = url.removeprefix("http://cabinet.test")
    return await api.http.get(path, headers={"Authorization": f"Bearer {token}"})


async def owner_id() -> PydanticObjectId:
    user = await UserDocument.find_one({"email": "olena@example.com"})
    assert user is not None
    return user.id  # type: ignore[return-value]


# ---- item 9: the download name ends with the detected type's extension


async def test_a_download_is_named_with_the_extension_of_its_detected_type(api: Api, token: str):
    response = await reimbursement(
        api,
        token,
        {
            "variables.input.reimbursement.documents.0": ("poly.html", PDF),
            "variables.input.reimbursement.documents.1": ("report.PDF", PDF),
            "variables.input.reimbursement.documents.2": ("photo.jpg", PNG),
            "variables.input.reimbursement.documents.3": ("скан", PDF),
        },
    )
    attachments = response.json()["data"]["createRequest"]["attachments"]

    names = ["poly.html.pdf", "report.PDF", "photo.jpg.png", "скан.pdf"]
    assert [a["filename"] for a in attachments] == names
    served = await download(api, token, attachments[0]["url"])
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == "attachment; filename*=UTF-8''poly.html.pdf"


async def test_a_file_stored_with_a_misleading_name_is_downloaded_with_its_type(
    api: Api, token: str
):
    """Files uploaded before the names were fixed are renamed when they are served."""
    file_id = await AsyncGridFSBucket(database()).upload_from_stream(
        "poly.html",
        PDF,
        metadata={"contentType": "application/pdf", "owner_id": await owner_id()},
    )

    served = await download(api, token, f"/files/{file_id}")

    assert served.content == PDF
    assert served.headers["content-disposition"] == "attachment; filename*=UTF-8''poly.html.pdf"


# ---- item 8: orphaned uploads


async def test_the_sweep_removes_uploads_no_request_refers_to_after_the_grace_period(
    api: Api, token: str
):
    response = await reimbursement(
        api, token, {"variables.input.reimbursement.documents.0": ("чек.pdf", LARGE_PDF)}
    )
    kept = response.json()["data"]["createRequest"]["attachments"][0]
    kept_id = PydanticObjectId(bearer_path(kept["url"]).rsplit("/", 1)[1])
    # A server killed after storing the files and before inserting the request (the same
    # function createRequest calls, the insert skipped), and one killed between chunks.
    owner = await owner_id()
    crashed = await files.store(
        [IncomingFile("a.pdf", LARGE_PDF), IncomingFile("b.pdf", PDF)],
        owner_id=owner,
        request_id=PydanticObjectId(),
    )
    await database()["fs.chunks"].delete_one({"files_id": crashed[0].id, "n": 2})
    everything = {kept_id, *(a.id for a in crashed)}
    assert await stored_ids() == (everything, everything)

    assert await files.sweep(GRACE) == 0  # within the grace period: an upload in progress
    clock.advance(GRACE + timedelta(minutes=1))
    assert await files.sweep(GRACE) == 2

    assert await stored_ids() == ({kept_id},) * 2
    assert await database()["fs.chunks"].count_documents({}) == 3
    served = await download(api, token, kept["url"])
    assert served.content == LARGE_PDF
    # Seen referenced once, the request's file is not looked at again.
    entry = await database()["fs.files"].find_one({})
    assert "pending" not in entry["metadata"]
    clock.advance(GRACE * 2)
    assert await files.sweep(GRACE) == 0
    assert await stored_ids() == ({kept_id},) * 2


async def test_a_comments_files_are_kept_by_the_sweep(api: Api, token: str):
    request = await callback(api, token)
    response = await multipart(
        api,
        token,
        ADD_COMMENT,
        {"input": {"requestId": request["id"], "text": "Ось рецепт", "attachments": [None]}},
        {"variables.input.attachments.0": ("рецепт.png", PNG)},
    )
    assert response.status_code == 200, response.text
    clock.advance(GRACE + timedelta(minutes=1))

    assert await files.sweep(GRACE) == 0
    assert len((await stored_ids())[0]) == 1


async def test_deleting_the_account_erases_files_no_request_refers_to(
    api: Api, token: str, command_log: CommandLog
):
    owner = await owner_id()
    start = len(command_log.commands)
    crashed = await files.store(
        [IncomingFile("a.pdf", LARGE_PDF)], owner_id=owner, request_id=PydanticObjectId()
    )
    # The entry, which names the owner, is written before any chunk: however the upload
    # stops, no chunk is left without it.
    assert command_log.during_request(start) == [("insert", "fs.files"), ("insert", "fs.chunks")]
    await database()["fs.chunks"].delete_one({"files_id": crashed[0].id, "n": 2})

    deleted = await api.data(DELETE_ACCOUNT, {"input": {"password": PASSWORD}}, token=token)

    assert deleted["deleteAccount"]["__typename"] == "Accepted"
    assert await stored_ids() == (set(), set())
