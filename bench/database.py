"""The database in a process of its own, for the read path measured without it.

    .venv/bin/python -m bench.database DIRECTORY PORT

serves the embedded engine (KABINET_DATA_DIR=DIRECTORY) on 127.0.0.1:PORT, prints
"ready" once it listens and runs until interrupted. A server given its address
(KABINET_MONGODB_URI) then spends its CPU on kabinet's work alone, and so does the floor
in the same process: their ratio is the API's own cost (issue 14, item 7).
"""

import asyncio
import signal
import sys
from pathlib import Path

from kabinet.config import Settings
from kabinet.db import Database


async def _main() -> None:
    directory, port = Path(sys.argv[1]), int(sys.argv[2])
    settings = Settings(_env_file=None, data_dir=directory, embedded_port=port)
    stop = asyncio.Event()
    for stopping in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(stopping, stop.set)
    async with Database(settings, bind_documents=False):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_main())
