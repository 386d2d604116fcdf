"""The workflow sandbox every worker and every replay uses (`worker.workflow_runner`).

The SDK's sandbox (temporalio 1.35) forwards each call into a running workflow as Python source
it hands to `exec`, so the same two lines are compiled again on every call: for every payload of
every activation and completion (the serialization context is asked per payload, codec or not),
and for every activation. In the lifecycle benchmark that was about 10 ms of the worker's CPU per
dossier (bench/profiles/2026-12-06-worker.txt, `_Instance._run_code`). `exec` takes a code object
as well as source: this runner compiles each of those few fixed snippets once per process and
changes nothing else. The SDK is pinned (pyproject.toml); `tests/unit/test_sandbox.py` fails if a
new version stops calling `_run_code` with source, and the replay tests run through this runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance


@cache
def compiled(source: str) -> CodeType:
    """`source` compiled once: the snippets are a handful per workflow class."""
    return compile(source, "<string>", "exec")


class _CompiledOnceInstance(_Instance):
    def _run_code(self, code: str | CodeType, **extra_globals: Any) -> None:
        super()._run_code(compiled(code) if isinstance(code, str) else code, **extra_globals)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CompiledOnceSandboxRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner`, its calls into a workflow compiled once instead of each time."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnceInstance(det, self.runner_class, self.restrictions)
