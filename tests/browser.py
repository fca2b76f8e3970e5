"""Headless Debian Chromium driven over the DevTools protocol (no driver, no download)."""

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.support import eventually

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--window-size=1024,768",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]


# Installed before any script of the page runs: every Content-Security-Policy violation
# (a blocked script, style, font, image or connection) is kept for the test to read.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


class Page:
    def __init__(self, connection: websockets.ClientConnection) -> None:
        self._connection = connection
        self._ids = itertools.count(1)
        # The protocol's events (those of the domains enabled), in the order they came.
        self.events: list[dict[str, Any]] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        await self._connection.send(
            json.dumps({"id": message_id, "method": method, "params": params})
        )
        while True:
            reply = json.loads(await self._connection.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply["result"]
            if "method" in reply:
                self.events.append(reply)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 20) -> Any:
        return await eventually(lambda: self.evaluate(expression), seconds=seconds)

    async def csp_violations(self) -> list[str]:
        """What the page's Content-Security-Policy blocked so far: directive and URI."""
        return await self.evaluate("window.cspViolations")

    async def type_text(self, text: str) -> None:
        """Types ``text`` into the focused element, as a keyboard would."""
        await self.send("Input.insertText", text=text)

    async def screenshot(self, path: Path) -> Path:
        """Saves what the page shows as a PNG at ``path``."""
        shot = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))
        return path

    async def websocket_frames_sent(self) -> list[str]:
        """The payloads of the WebSocket frames the page sent so far (needs Network.enable)."""
        await self.evaluate("0")  # reads the events that came before this call's reply
        return [
            event["params"]["response"]["payloadData"]
            for event in self.events
            if event["method"] == "Network.webSocketFrameSent"
        ]


@contextlib.asynccontextmanager
async def chromium_page(url: str, *, languages: str = "en-US,en") -> AsyncIterator[Page]:
    """A fresh headless Chromium showing ``url``; ``languages`` are the browser's preferred
    ones, most wanted first (``navigator.languages`` and the ``Accept-Language`` it sends)."""
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("Debian's chromium is not installed: run `make chromium`")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = await asyncio.create_subprocess_exec(
            executable,
            *CHROMIUM_FLAGS,
            f"--lang={languages.split(',')[0]}",
            f"--accept-lang={languages}",
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"

            async def port() -> str | None:
                return (
                    port_file.read_text().split()[0]
                    if port_file.exists() and port_file.read_text()
                    else None
                )

            debug_port = await eventually(port, seconds=30)
            async with httpx.AsyncClient() as http:
                targets = (await http.get(f"http://127.0.0.1:{debug_port}/json/list")).json()
            page_target = next(target for target in targets if target["type"] == "page")
            async with websockets.connect(
                page_target["webSocketDebuggerUrl"], max_size=None
            ) as connection:
                page = Page(connection)
                await page.send("Page.enable")
                await page.send("Network.enable")
                await page.send(
                    "Page.addScriptToEvaluateOnNewDocument", source=RECORD_CSP_VIOLATIONS
                )
                await page.send("Page.navigate", url=url)
                yield page
        finally:
            process.terminate()
            await process.wait()
