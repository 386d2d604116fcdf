"""The data converter of the worker (and of every replay): pydantic JSON, and what a dossier's
workflow decodes of its own past as it was recorded.

The command models' limits (`domain.limits`) check what comes in. A running dossier's history
and the state it carries through continue-as-new were accepted before, perhaps under other
limits or none: decoded again on replay, a value beyond today's limits would make the history
undecodable (a nondeterminism error) and freeze the dossier. So a payload a workflow replays,
and the run's input, whose type says it carries recorded state (`LIMITS_AS_RECORDED`), are
decoded with the limits not applied; anything new is checked.
"""

from __future__ import annotations

import functools
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

from domain.limits import AS_RECORDED

_adapter = functools.lru_cache(maxsize=256)(TypeAdapter)


def _as_recorded(type_hint: type | None) -> bool:
    # The run's input is decoded before the workflow's event loop runs: its type says it.
    marked = bool(getattr(type_hint, "LIMITS_AS_RECORDED", False))
    return marked or (workflow.in_workflow() and workflow.unsafe.is_replaying())


class _RecordedJSONPayloadConverter(PydanticJSONPlainPayloadConverter):
    def from_payload(
        self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None
    ) -> Any:
        if not _as_recorded(type_hint):
            return super().from_payload(payload, type_hint)
        return _adapter(type_hint or Any).validate_json(payload.data, context=AS_RECORDED)


class MotcuaPayloadConverter(CompositePayloadConverter):
    """Temporal's default converters, JSON by pydantic as recorded (above)."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _RecordedJSONPayloadConverter()
                if isinstance(converter, JSONPlainPayloadConverter)
                else converter
                for converter in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=MotcuaPayloadConverter)
