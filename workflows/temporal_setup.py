"""One-time setup of a Temporal namespace for motcua, shared by the local stack (`dev.run`), the
worker and production deploys: registering the custom search attributes that ops staff filter
on, and the schedule of the sweep of ended runs (R5; the worker ensures it at every start).
Production code, not development tooling: `worker.py` runs it at every start."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from workflows.ended_runs import SWEEP_WORKFLOW
from workflows.search_attributes import ALL


class SearchAttributeConflict(RuntimeError):
    """A search attribute already exists in the namespace with another type; Temporal cannot
    change the type of a registered attribute, so a person has to decide what to do."""


async def ensure_search_attributes(
    client: Client, namespace: str, keys: Iterable[SearchAttributeKey] = ALL
) -> list[str]:
    """Register the missing ones of `keys` in `namespace` and return their names.

    Idempotent: lists the registered attributes first and adds only the missing ones, and treats
    ALREADY_EXISTS (another process registering at the same moment) as success. Raises
    `SearchAttributeConflict` if a name is registered with a different type.
    """
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    registered = {**listed.system_attributes, **listed.custom_attributes}
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in keys:
        wanted = IndexedValueType.ValueType(key.indexed_value_type.value)
        if key.name not in registered:
            missing[key.name] = wanted
        elif registered[key.name] != wanted:
            raise SearchAttributeConflict(
                f"search attribute {key.name} is registered in namespace {namespace!r} as "
                f"{IndexedValueType.Name(registered[key.name])}, motcua needs "
                f"{IndexedValueType.Name(wanted)}"
            )
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
    return sorted(missing)


SWEEP_SCHEDULE_ID = "motcua-ended-runs-sweep"


async def ensure_sweep_schedule(
    client: Client, task_queue: str, every: timedelta = timedelta(minutes=10)
) -> bool:
    """Create the schedule that starts `EndedRunsSweep` on `task_queue` every `every` (a sweep
    at a time: one still running makes the next skip); whether it was created. Idempotent: an
    existing schedule, perhaps paused or retimed by ops in the Web UI, is left as it is."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            SWEEP_WORKFLOW, id=f"{SWEEP_SCHEDULE_ID}-run", task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(SWEEP_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        return False
    return True
