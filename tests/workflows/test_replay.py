"""Recorded histories replay on today's DossierWorkflow, with the worker's own data converter and
sandbox: a change to the workflow's logic that would break a running dossier fails here first.
Histories are recorded by `make histories` (tests/histories/record.py) and never rewritten."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from domain import limits
from tests.workflows.reordered_workflow import ReorderedDossierWorkflow
from worker import workflow_runner
from workflows.converter import data_converter
from workflows.dossier import DossierWorkflow

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))
SCENARIOS = {
    "letter_448",
    "withdrawal",
    "supplement_apology_signals",
    "cancelled",
    "ladder_and_clock",
    "letter_448_continued",
}
# The version of the workflow's logic today (bump it with each patch; record it with make
# histories VERSION=…): every scenario must have a history of it, and of every older version.
VERSIONS = ("v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8")


def load(path: Path) -> WorkflowHistory:
    workflow_id = json.loads(path.read_text())["events"][0][
        "workflowExecutionStartedEventAttributes"
    ]
    return WorkflowHistory.from_json(workflow_id.get("workflowId", path.stem), path.read_text())


def replayer(*workflows: type) -> Replayer:
    return Replayer(
        workflows=list(workflows) or [DossierWorkflow],
        data_converter=data_converter,
        workflow_runner=workflow_runner(),
    )


# Scenarios of behaviour a version added: recorded from that version on.
SINCE = {"read_model_failure": "v6"}


def test_every_scenario_has_a_recorded_history_of_every_version() -> None:
    recorded = {(path.name.split(".")[0], path.name.split(".")[-2]) for path in HISTORIES}
    expected = {
        (s, v)
        for s in SCENARIOS | set(SINCE)
        for v in VERSIONS[VERSIONS.index(SINCE.get(s, VERSIONS[0])) :]
    }
    missing = expected - recorded
    assert not missing, missing


@pytest.mark.parametrize("path", HISTORIES, ids=[p.name for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    result = await replayer().replay_workflow(load(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_an_unpatched_change_is_caught_by_replay() -> None:
    history = load(next(p for p in HISTORIES if p.name.startswith("letter_448")))
    result = await replayer(ReorderedDossierWorkflow).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert isinstance(result.replay_failure, workflow.NondeterminismError)


def beyond_todays_limits(path: Path) -> WorkflowHistory:
    """The history at `path` as if recorded before `domain.limits`: each accepted SOS request's
    reason holds a NUL and runs past its cap, as the API let through then (issue 8)."""
    document = json.loads(path.read_text())
    tainted = 0
    for event in document["events"]:
        accepted = event.get("workflowExecutionUpdateAcceptedEventAttributes")
        if accepted and accepted["acceptedRequest"]["input"].get("name") == "sos":
            payload = accepted["acceptedRequest"]["input"]["args"]["payloads"][0]
            request = json.loads(base64.b64decode(payload["data"]))
            request["reason"] += "\u0000" + "x" * limits.REASON_MAX
            payload["data"] = base64.b64encode(json.dumps(request).encode()).decode()
            tainted += 1
    assert tainted, path
    started = document["events"][0]["workflowExecutionStartedEventAttributes"]
    return WorkflowHistory.from_json(started.get("workflowId", path.stem), json.dumps(document))


async def test_a_history_recorded_before_the_limits_still_replays() -> None:
    """Today's limits refuse new input, never the recorded past: a value beyond them in a
    running dossier's history must not make it undecodable (a nondeterminism error, the
    dossier frozen)."""
    path = next(p for p in HISTORIES if p.name == f"letter_448.{VERSIONS[-1]}.json")
    result = await replayer().replay_workflow(beyond_todays_limits(path))
    assert result.replay_failure is None
