"""Worker versioning (issue 11; README, "Upgrades"): a rolling upgrade on the real dev server, with
the production worker (`worker.running_worker`) as build 1 and a changed DossierWorkflow as build
2 of one worker deployment, switched with the commands ops run (`temporal worker deployment
set-current-version`, `temporal workflow update-options`). Dossiers and sweeps (auto-upgrade)
move to the current build at their next workflow task; a dossier ops pinned stays where it is."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TypeVar

import pytest
import temporalio.api.workflowservice.v1 as wsv1
from temporalio import activity
from temporalio.api.deployment.v1 import WorkerDeploymentInfo
from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionMessage
from temporalio.api.enums.v1 import (
    EventType,
    RoutingConfigUpdateState,
    TaskQueueType,
    VersioningBehavior,
    WorkerDeploymentVersionStatus,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

import worker
from activities.ended_runs import EndedRunsActivities, SweepReport
from settings import Settings
from tests.fixtures.temporal import binary
from tests.workflows.harness import ENV, FIRE, running_stack, stack_settings
from tests.workflows.steps import consult, now
from tests.workflows.upgraded_workflow import PLANNED_BY, UpgradedDossierWorkflow
from workflows.ended_runs import EndedRunsSweep

pytestmark = pytest.mark.asyncio(loop_scope="session")

T = TypeVar("T")
AUTO_UPGRADE = VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE
WORKFLOW_QUEUE = TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
ACTIVITY_QUEUE = TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
ROUTED = RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    """What the server does by itself (a worker's first poll registering its build, a version's
    drainage) shows up within seconds."""
    give_up = time.monotonic() + 30
    while True:
        value = await probe()
        if ok(value) or time.monotonic() > give_up:
            return value
        await asyncio.sleep(0.2)


async def deployment(client: Client, name: str) -> WorkerDeploymentInfo | None:
    try:
        described = await client.workflow_service.describe_worker_deployment(
            wsv1.DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name)
        )
    except RPCError:  # not found until a worker of it has polled
        return None
    return described.worker_deployment_info


async def version(
    client: Client, settings: Settings
) -> wsv1.DescribeWorkerDeploymentVersionResponse:
    return await client.workflow_service.describe_worker_deployment_version(
        wsv1.DescribeWorkerDeploymentVersionRequest(
            namespace=client.namespace,
            deployment_version=VersionMessage(
                deployment_name=str(settings.deployment_name), build_id=str(settings.build_id)
            ),
        )
    )


async def polled_queues(client: Client, settings: Settings) -> set[tuple[str, int]]:
    """The task queues, by type, the build's workers have polled (none before the first poll)."""
    try:
        described = await version(client, settings)
    except RPCError:
        return set()
    return {(queue.name, queue.type) for queue in described.version_task_queues}


def routes_to(info: WorkerDeploymentInfo | None) -> str | None:
    """The current build once every task queue of the deployment routes to it."""
    if info is None or info.routing_config_update_state != ROUTED:
        return None
    return info.routing_config.current_deployment_version.build_id


async def version_status(
    client: Client, settings: Settings
) -> WorkerDeploymentVersionStatus.ValueType:
    return (await version(client, settings)).worker_deployment_version_info.status


async def versioning(handle: WorkflowHandle) -> tuple[int, str]:
    """The run's versioning behaviour and the build its last workflow task ran on."""
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return info.behavior, info.deployment_version.build_id


async def task_builds(handle: WorkflowHandle) -> list[str]:
    """The build of each completed workflow task, in the order of the history."""
    return [
        event.workflow_task_completed_event_attributes.deployment_version.build_id
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


def held_sweep(started: asyncio.Event, release: asyncio.Event) -> type[EndedRunsActivities]:
    """Build 1's sweep activity, held until `release`: the sweep is still running when build 2
    becomes current."""

    class HeldSweepActivities(EndedRunsActivities):
        @activity.defn(name="close_dossiers_of_ended_runs")
        async def close_dossiers_of_ended_runs(self) -> SweepReport:
            started.set()
            await release.wait()
            return await super().close_dossiers_of_ended_runs()

    return HeldSweepActivities


async def temporal_cli(client: Client, *argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        binary("temporal"),
        *argv,
        *("--address", client.service_client.config.target_host),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (argv, out, err)


async def make_current(client: Client, settings: Settings) -> None:
    """`temporal worker deployment set-current-version`, as ops run it: once the build's workers
    poll every task queue the current build polls (the server refuses it before), and until the
    task queues route to it (before that, a task may still go to the build that was current)."""
    name, build = str(settings.deployment_name), str(settings.build_id)
    queues = {(settings.task_queue, kind) for kind in (WORKFLOW_QUEUE, ACTIVITY_QUEUE)}
    polled = await eventually(lambda: polled_queues(client, settings), lambda q: queues <= q)
    assert queues <= polled, polled
    await temporal_cli(
        client,
        *("worker", "deployment", "set-current-version"),
        *("--deployment-name", name, "--build-id", build, "--yes"),
    )
    routed = await eventually(lambda: deployment(client, name), lambda d: routes_to(d) == build)
    assert routes_to(routed) == build


async def pin(client: Client, handle: WorkflowHandle, settings: Settings | None) -> None:
    """`temporal workflow update-options`: ops pin a dossier to a build (None: unpin it)."""
    override = ["--versioning-override-behavior", "pinned" if settings else "unspecified"]
    if settings:
        override += ["--versioning-override-deployment-name", str(settings.deployment_name)]
        override += ["--versioning-override-build-id", str(settings.build_id)]
    await temporal_cli(client, "workflow", "update-options", "--workflow-id", handle.id, *override)


async def test_rolling_upgrade_dossiers_and_sweeps_move_to_build_2_a_pinned_dossier_stays(
    dev_client: Client, task_queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = f"motcua-{uuid.uuid4().hex[:8]}"
    build_1 = await stack_settings(tmp_path, task_queue, deployment_name=deployment, build_id="1")
    build_2 = build_1.model_copy(update={"build_id": "2"})
    sweep_started, release_sweep = asyncio.Event(), asyncio.Event()
    async with AsyncExitStack() as running:
        with monkeypatch.context() as patch:
            patch.setattr(worker, "EndedRunsActivities", held_sweep(sweep_started, release_sweep))
            on_1 = await running.enter_async_context(running_stack(dev_client, build_1))
        await make_current(dev_client, build_1)

        moving, pinned = await on_1.start(now()), await on_1.start(now())
        sweep = await dev_client.start_workflow(
            EndedRunsSweep.run, id=f"sweep-{uuid.uuid4()}", task_queue=task_queue
        )
        await asyncio.wait_for(sweep_started.wait(), timeout=30)
        assert await versioning(moving) == (AUTO_UPGRADE, "1")
        await pin(dev_client, pinned, build_1)

        # Build 2 is deployed beside build 1, then made current: a rolling upgrade.
        on_2 = await running.enter_async_context(
            running_stack(dev_client, build_2, [UpgradedDossierWorkflow, EndedRunsSweep])
        )
        await make_current(dev_client, build_2)

        # A dossier's next task runs on build 2, and a consultation asked now takes build 2's
        # patched branch; what it did on build 1 stays in its history.
        await consult(FIRE)(moving)
        assert await versioning(moving) == (AUTO_UPGRADE, "2")
        assert await (await moving.describe()).memo_value(PLANNED_BY) == "2"
        builds = await task_builds(moving)
        assert builds[0] == "1" and builds[-1] == "2" and builds == sorted(builds), builds
        fresh = await on_2.start(now())
        assert set(await task_builds(fresh)) == {"2"}

        # The pinned dossier stays on build 1, which drains meanwhile ...
        await consult(FIRE)(pinned)
        assert set(await task_builds(pinned)) == {"1"}
        assert await (await pinned.describe()).memo_value(PLANNED_BY, None) is None
        status = await eventually(lambda: version_status(dev_client, build_1), is_draining)
        assert is_draining(status), WorkerDeploymentVersionStatus.Name(status)
        # ... until ops unpin it: then it moves too.
        await pin(dev_client, pinned, None)
        await consult(ENV)(pinned)
        assert (await task_builds(pinned))[-1] == "2"

        # The sweep that was running on build 1 ends on build 2.
        release_sweep.set()
        await sweep.result()
        assert await versioning(sweep) == (AUTO_UPGRADE, "2")
        assert await task_builds(sweep) == ["1", "2"]


def is_draining(status: WorkerDeploymentVersionStatus.ValueType) -> bool:
    return status == WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING


async def test_dossiers_of_unversioned_workers_move_to_the_first_versioned_build(
    dev_client: Client, task_queue: str, tmp_path: Path
) -> None:
    """Turning versioning on in production: the dossiers running on today's unversioned workers
    carry on on build 1 once it is current, as auto-upgrade ones."""
    unversioned = await stack_settings(tmp_path, task_queue)
    build_1 = unversioned.model_copy(
        update={"deployment_name": f"motcua-{uuid.uuid4().hex[:8]}", "build_id": "1"}
    )
    async with AsyncExitStack() as running:
        today = await running.enter_async_context(running_stack(dev_client, unversioned))
        running_before = await today.start(now())
        await running.enter_async_context(running_stack(dev_client, build_1))
        await make_current(dev_client, build_1)

        await consult(FIRE)(running_before)
        assert await versioning(running_before) == (AUTO_UPGRADE, "1")
        builds = await task_builds(running_before)
        assert builds[0] == "" and builds[-1] == "1" and builds == sorted(builds), builds
