"""DossierWorkflow as build 2 of the rolling-upgrade test (test_worker_versioning_dev_server): one
patched change, where a dossier asks for a consultation, notes in the memo the build that planned
it. (A module of its own: the sandbox re-imports the module that defines a workflow.)"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.commands import ConsultationRequest
    from domain.dossier import ConsultationPlan, DossierDocument
    from workflows.dossier import WORKFLOW_NAME, DossierStart, DossierWorkflow

BUILD_2_PATCH = "rolling-upgrade-test-build-2"
PLANNED_BY = "planned_by_build"


@workflow.defn(name=WORKFLOW_NAME)
class UpgradedDossierWorkflow(DossierWorkflow):
    @workflow.run
    async def run(self, start: DossierStart) -> DossierDocument:
        return await super().run(start)

    async def _plan_consultation(self, cmd: ConsultationRequest) -> ConsultationPlan:
        # Patched as any change to a running dossier must be: a run that moved here takes the new
        # branch only where its history has not been before (a consultation asked after the move).
        if workflow.patched(BUILD_2_PATCH):
            version = workflow.info().get_current_deployment_version()
            workflow.upsert_memo({PLANNED_BY: version.build_id if version else None})
        return await super()._plan_consultation(cmd)
