"""The bare-Temporal reference of the lifecycle benchmark: a dossier of the same shape as
DossierWorkflow (receipt by update-with-start, a consultation of three agencies, three replies,
a result, a handover, each an update with a validator) with no API, no database, no projection,
no notices and no calendar. What the full stack costs is measured against it."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn(name="BareDossier")
class BareDossier:
    @workflow.init
    def __init__(self, code: str) -> None:
        self.code = code
        self.awaiting: set[str] = set()
        self.result = False
        self.done = False

    @workflow.run
    async def run(self, code: str) -> str:
        await workflow.wait_condition(lambda: self.done and workflow.all_handlers_finished())
        return self.code

    @workflow.update
    async def receipt(self) -> str:
        return self.code

    @workflow.update
    async def consult(self, agencies: list[str]) -> int:
        self.awaiting |= set(agencies)
        return len(self.awaiting)

    @workflow.update
    async def reply(self, agency: str) -> int:
        self.awaiting.discard(agency)
        return len(self.awaiting)

    @reply.validator
    def _known(self, agency: str) -> None:
        if agency not in self.awaiting:
            raise ApplicationError("not consulted", type="consultation_not_found")

    @workflow.update
    async def record_result(self) -> bool:
        self.result = True
        return True

    @record_result.validator
    def _none_awaited(self) -> None:
        if self.awaiting:
            raise ApplicationError("awaiting", type="consultations_awaiting")

    @workflow.update
    async def hand_over(self) -> bool:
        self.done = True
        return True

    @hand_over.validator
    def _has_result(self) -> None:
        if not self.result:
            raise ApplicationError("no result", type="no_result")
