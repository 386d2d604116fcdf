"""DossierWorkflow with an unpatched change: a timer before the clock is read. The replay test
must catch exactly this kind of change. (A module of its own: the sandbox re-imports the module
that defines a workflow, and a test module's file-system look-ups are not allowed there.)"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.clock import ClockLedger, ClockReading
    from domain.dossier import DossierDocument
    from workflows.dossier import WORKFLOW_NAME, DossierStart, DossierWorkflow


@workflow.defn(name=WORKFLOW_NAME)
class ReorderedDossierWorkflow(DossierWorkflow):
    @workflow.run
    async def run(self, start: DossierStart) -> DossierDocument:
        return await super().run(start)

    async def _read_clock(self, ledger: ClockLedger) -> ClockReading:
        await workflow.sleep(timedelta(seconds=1))
        return await super()._read_clock(ledger)
