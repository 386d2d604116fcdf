"""The table of actions (domain.actions) against what takes them: the workflow's updates and
the API's routes."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from temporalio import workflow

from api.routes import dossiers
from domain.actions import ACTION_OF_COMMAND, ACTIONS, Fact
from domain.commands import Action
from workflows.dossier import DossierWorkflow

ROUTES = [r for r in dossiers.router.routes if isinstance(r, APIRoute)]


def test_every_action_has_one_entry_and_one_command() -> None:
    assert list(ACTIONS) == list(Action)
    assert all(rule.action is action for action, rule in ACTIONS.items())
    assert len(ACTION_OF_COMMAND) == len(Action)
    assert len({rule.update for rule in ACTIONS.values()}) == len(Action)
    assert len({rule.path for rule in ACTIONS.values()}) == len(Action)


@pytest.mark.parametrize("action", list(Action))
def test_the_update_named_takes_the_command(action: Action) -> None:
    """As the SDK registers the workflow's updates (its definition: no public view of it)."""
    rule = ACTIONS[action]
    update = workflow._Definition.must_from_class(DossierWorkflow).updates[rule.update]
    assert update.arg_types == [rule.command]


@pytest.mark.parametrize("action", list(Action))
def test_the_route_at_its_path_takes_the_action_and_its_body(action: Action) -> None:
    """One POST route at the table's path, the action's own by `action_of`; its body is the
    command's fields (the command adds the caller, and a path's `agency`)."""
    rule = ACTIONS[action]
    path = f"{dossiers.router.prefix}/{{code}}{rule.path}"
    (route,) = [r for r in ROUTES if r.path_format == path and "POST" in r.methods]
    assert dossiers.action_of(route) is action
    (body,) = route.dependant.body_params
    assert issubclass(rule.command, body.field_info.annotation)


def test_no_other_route_takes_an_action() -> None:
    taken = [dossiers.action_of(r) for r in ROUTES]
    assert sorted(a for a in taken if a is not None) == sorted(Action)


def test_facts_asked_only_by_consultation_and_apology() -> None:
    facts = {a: rule.fact for a, rule in ACTIONS.items() if rule.fact is not None}
    assert facts == {Action.CONSULT: Fact.PLAN, Action.APOLOGY: Fact.WORKING_DAY}
