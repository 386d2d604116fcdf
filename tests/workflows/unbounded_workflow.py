"""DossierWorkflow as it recorded refused attempts before issue 8 (each whole, however big), to
wedge a dossier the way the old code did and bring it back as the README says. (A module of its
own: the sandbox re-imports the module that defines a workflow.)"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.commands import Action, Command
    from domain.dossier import DossierDocument
    from domain.refusals import Refusal
    from workflows.dossier import DossierStart, DossierWorkflow


@workflow.defn(name="DossierWorkflow")
class UnboundedDossierWorkflow(DossierWorkflow):
    @workflow.run
    async def run(self, start: DossierStart) -> DossierDocument:
        return await super().run(start)

    def _refusal(self, cmd: Command, action: Action, refusal: Refusal, via: str) -> None:
        self._dossier.record_refusal(cmd, action.value, refusal, workflow.now(), via, False)
