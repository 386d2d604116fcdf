"""The worker of the bare reference workflow, a process of its own as motcua's worker is:
`python -m bench.bare_worker` (address and task queue from MOTCUA_TEMPORAL_ADDRESS and
MOTCUA_TASK_QUEUE)."""

from __future__ import annotations

import asyncio
import signal

from temporalio.worker import Worker

from bench.bare_workflow import BareDossier
from settings import Settings
from worker import connect, workflow_runner


async def main() -> None:
    settings = Settings()
    client = await connect(settings)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[BareDossier],
        workflow_runner=workflow_runner(),
    ):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
