"""What a lifecycle writes into Temporal's history (issue 12): events and bytes per lifecycle, and
the events by type, from a sample of closed workflows of one round of `make bench`.

The server's work follows its history: every event is written (and for updates, accepted and
completed, read back) by the dev server, so the events per lifecycle beside bare Temporal's say
how much of the server's CPU the full stack asks for, and which events it could do without.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError

CLOSE_TIMEOUT_S = 60.0  # a round's workflows end within seconds of their last update


@dataclass
class HistoryFigures:
    """The histories of `sampled` closed workflows, as totals (divide by `sampled`)."""

    sampled: int = 0
    events: int = 0
    size_bytes: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    bytes_by_type: Counter[str] = field(default_factory=Counter)

    def per_lifecycle(self, total: float) -> float:
        return total / self.sampled if self.sampled else 0.0


def event_type_name(event_type: EventType.ValueType) -> str:
    """`EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED` → `WorkflowExecutionUpdateAccepted`, the
    names the Web UI and the Temporal docs use."""
    words = EventType.Name(event_type).removeprefix("EVENT_TYPE_").split("_")
    return "".join(word.capitalize() for word in words)


async def wait_closed(client: Client, workflow_ids: list[str]) -> None:
    """Until each workflow of `workflow_ids` has ended (its last run, failed or not): what a
    lifecycle leaves running after its last update (notices, the read model) belongs to it."""

    async def closed(workflow_id: str) -> None:
        with contextlib.suppress(WorkflowFailureError):
            await client.get_workflow_handle(workflow_id).result(follow_runs=True)

    await asyncio.wait_for(
        asyncio.gather(*(closed(workflow_id) for workflow_id in workflow_ids)), CLOSE_TIMEOUT_S
    )


async def histories(client: Client, workflow_ids: list[str]) -> HistoryFigures:
    """Events (by type) and bytes of the histories of `workflow_ids`: the last run of each, which
    is the only one for a lifecycle (a dossier continues as new after 1,000 updates); a
    `WorkflowExecutionContinuedAsNew` among the types would say otherwise."""
    figures = HistoryFigures(sampled=len(workflow_ids))
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        figures.events += len(history.events)
        # The events as the server stores them (serialized protobuf), as `describe` counts them.
        figures.size_bytes += sum(event.ByteSize() for event in history.events)
        for event in history.events:
            name = event_type_name(event.event_type)
            figures.by_type[name] += 1
            figures.bytes_by_type[name] += event.ByteSize()
    return figures
