"""`python -m tests.workflows.old_worker`: the worker as it was before issue 8, whose settlement
retried a write the database refuses forever (and so never stopped short of a SIGKILL), to wedge
a dossier the way the old code did. Configured by the environment, as `python worker.py`."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

import worker
from activities.settlement import SettlementActivities, SettlementReceipt
from domain.projection import Settlement


class OldSettlementActivities(SettlementActivities):
    @activity.defn(name="settle_dossier")
    async def settle_dossier(self, settlement: Settlement) -> SettlementReceipt:
        try:
            return await super().settle_dossier(settlement)
        except ApplicationError as refused:
            raise RuntimeError(refused.message) from None  # retried, like any failure then


if __name__ == "__main__":
    worker.SettlementActivities = OldSettlementActivities  # type: ignore[misc]
    asyncio.run(worker.main())
