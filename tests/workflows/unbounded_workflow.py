"""DossierWorkflow as it recorded refused attempts before issue 8 (each whole, however big), and
the converter of its worker (no limits), to wedge a dossier the way the old code did and bring it
back as the README says. (A module of its own: the sandbox re-imports the module that defines a
workflow.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import temporalio.api.common.v1
from pydantic import TypeAdapter
from temporalio import workflow
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

with workflow.unsafe.imports_passed_through():
    from domain.commands import Action, Command
    from domain.dossier import DossierDocument
    from domain.limits import AS_RECORDED
    from domain.projection import Settlement
    from domain.refusals import Refusal
    from workflows.dossier import (
        FENCED_SETTLE,
        LEAN_HISTORY,
        WORKFLOW_NAME,
        DossierStart,
        DossierWorkflow,
    )


@workflow.defn(name=WORKFLOW_NAME)
class UnboundedDossierWorkflow(DossierWorkflow):
    @workflow.run
    async def run(self, start: DossierStart) -> DossierDocument:
        return await super().run(start)

    def _since(self, patch: str) -> bool:
        # the code before v7: each patch asked by itself, and no v7 (`lean-history`) nor v8
        return patch not in (LEAN_HISTORY, FENCED_SETTLE) and workflow.patched(patch)

    async def _settle_dossier(self, settlement: Settlement, summary: str) -> None:
        await workflow.execute_local_activity(  # inside the change's task, as then
            "settle_dossier",
            settlement,
            summary=summary,
            start_to_close_timeout=timedelta(seconds=30),
        )

    def _refusal(self, cmd: Command, action: Action, refusal: Refusal, via: str) -> None:
        self._dossier.record_refusal(cmd, action.value, refusal, workflow.now(), via, False)


class _UnlimitedJSON(PydanticJSONPlainPayloadConverter):
    def from_payload(
        self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None
    ) -> Any:
        return TypeAdapter(type_hint or Any).validate_json(payload.data, context=AS_RECORDED)


class _UnlimitedPayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(
            *(
                _UnlimitedJSON() if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


# What a worker before issue 8 read: any input, however long, whatever it held.
unlimited_data_converter = DataConverter(payload_converter_class=_UnlimitedPayloadConverter)
