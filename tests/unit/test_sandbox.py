"""The worker's sandbox compiles its calls into a workflow once (workflows/sandbox.py): a
recorded history replays through it, and the SDK's snippets (activation, serialization context)
are the ones compiled, once each, however many runs and payloads."""

from __future__ import annotations

from pathlib import Path

from tests.workflows.test_replay import load, replayer
from workflows.sandbox import compiled

HISTORY = Path(__file__).parents[1] / "histories" / "letter_448.v7.json"


async def test_a_replay_compiles_each_call_into_the_sandbox_once() -> None:
    history = load(HISTORY)
    compiled.cache_clear()

    for _ in range(3):
        result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None

    snippets = compiled.cache_info()
    # activation, serialization context, the instance's creation and the workflow's import
    assert 3 <= snippets.currsize <= 6, snippets
    # every payload of every activation asks the context: many calls, each snippet compiled once
    assert snippets.hits > 20 * snippets.misses, snippets
