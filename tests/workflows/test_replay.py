"""Recorded histories replay on today's DossierWorkflow, with the worker's own data converter and
sandbox: a change to the workflow's logic that would break a running dossier fails here first.
Histories are recorded by `make histories` (tests/histories/record.py) and never rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflows.reordered_workflow import ReorderedDossierWorkflow
from worker import workflow_runner
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
VERSIONS = ("v1", "v2", "v3", "v4", "v5", "v6")


def load(path: Path) -> WorkflowHistory:
    workflow_id = json.loads(path.read_text())["events"][0][
        "workflowExecutionStartedEventAttributes"
    ]
    return WorkflowHistory.from_json(workflow_id.get("workflowId", path.stem), path.read_text())


def replayer(*workflows: type) -> Replayer:
    return Replayer(
        workflows=list(workflows) or [DossierWorkflow],
        data_converter=pydantic_data_converter,
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
