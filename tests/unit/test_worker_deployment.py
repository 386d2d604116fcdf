"""Worker versioning's settings (README, "Upgrades"): off unless both names are given, and then
every workflow type auto-upgrades."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion

from settings import Settings
from worker import deployment_config


def test_worker_is_unversioned_without_a_deployment() -> None:
    assert deployment_config(Settings()) is None


def test_worker_polls_as_its_build_and_auto_upgrades_every_workflow_type() -> None:
    config = deployment_config(Settings(deployment_name="motcua", build_id="2026.12.1"))
    assert config is not None and config.use_worker_versioning
    assert config.version == WorkerDeploymentVersion("motcua", "2026.12.1")
    assert config.default_versioning_behavior == VersioningBehavior.AUTO_UPGRADE


@pytest.mark.parametrize("half", [{"deployment_name": "motcua"}, {"build_id": "2026.12.1"}])
def test_deployment_name_and_build_id_go_together(half: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="go together"):
        Settings(**half)
