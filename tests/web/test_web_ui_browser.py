"""What ops staff see in the Temporal Web UI that `make run` serves (UI 2.54 of the pip-installed
CLI), driven in Chromium as the README tells them to use it (issue 11, "Ops staff in the Temporal
Web UI"): the list filtered to dossiers by the documented query, without the ended-runs sweep's
runs, saved as a view, with the dossiers' search attributes as columns; a dossier's Current
Details readable (spaced, times with their zone), and a stopped dossier saying who stopped it and
why. Screenshots: var/screenshots/web-ui-*.png.

This module runs on a dev server of its own, with its Web UI on a free port (`dev_env` below
replaces the session's for its tests, so the `api` fixture's worker and API use it).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from playwright.async_api import FrameLocator, Page, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.api.http_helpers import act, consult, eventually, receive
from tests.fixtures.api import Api, free_port
from tests.fixtures.browser import screenshot
from tests.fixtures.temporal import start_dev_server
from workflows.starter import workflow_id
from workflows.temporal_setup import SWEEP_SCHEDULE_ID, ensure_sweep_schedule

# The README's saved query (section "For ops staff in the Web UI").
DOSSIERS_ONLY = 'WorkflowType = "DossierWorkflow"'
# UI 2.54 keeps a saved view in the browser, and refuses a name with diacritics ("Hồ sơ").
VIEW = "Ho so"
SWEEP_RUN = f"{SWEEP_SCHEDULE_ID}-run"
LOADED_MS = 20_000  # a list or a page of the UI on a loaded 2-core machine
STOP_REASON = "Chờ kết quả xác minh nguồn gốc đất của Văn phòng đăng ký đất đai"
ZONED = re.compile(r"\d\d:\d\d \d\d/\d\d/\d{4} \(UTC\+7\)")


@pytest.fixture(scope="module")
def ui_port() -> int:
    return free_port()


@pytest.fixture
def ui(ui_port: int) -> str:
    """The Web UI's address."""
    return f"http://127.0.0.1:{ui_port}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dev_env(ui_port: int) -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server(ui_port=ui_port)
    yield env
    await env.shutdown()


async def a_sweep_has_run(client: Client, task_queue: str) -> None:
    """The ended-runs sweep's schedule, as the worker creates it, triggered now rather than in
    ten minutes; until its run is listed."""
    await ensure_sweep_schedule(client, task_queue)
    await client.get_schedule_handle(SWEEP_SCHEDULE_ID).trigger()

    async def sweeps() -> int:
        return (await client.count_workflows('WorkflowType = "EndedRunsSweep"')).count

    await eventually(sweeps, lambda n: n > 0, within=30, what="sweep run listed")


async def current_details(page: Page, ui: str, code: str) -> FrameLocator:
    """The dossier's detail page, tab "User Metadata": its Current Details (an iframe)."""
    await page.goto(f"{ui}/namespaces/default/workflows/{workflow_id(code)}")
    await page.get_by_text("User Metadata", exact=True).click()
    details = page.frame_locator("#user-metadata-current-details")
    await expect(details.locator("body")).to_contain_text("Due:", timeout=LOADED_MS)
    return details


async def test_ops_staff_list_dossiers_only_by_the_saved_query_with_their_columns(
    api: Api, page: Page, ui: str, dev_env: WorkflowEnvironment
) -> None:
    stopped = (await receive(api))["code"]
    assert (await act(api, stopped, "sos", {"action": "stop", "reason": STOP_REASON})).is_success
    consulting = (await receive(api))["code"]
    await consult(api, consulting, "SNNMT", "CAT")
    await a_sweep_has_run(dev_env.client, api.settings.task_queue)

    # Everything the namespace runs: the sweep's runs among the dossiers.
    await page.goto(f"{ui}/namespaces/default/workflows")
    rows = page.get_by_role("row")
    await expect(rows.filter(has_text=SWEEP_RUN).first).to_be_visible(timeout=LOADED_MS)
    await expect(rows.filter(has_text=workflow_id(stopped))).to_be_visible(timeout=LOADED_MS)

    # The README's query: dossiers only, kept as a saved view.
    await page.goto(f"{ui}/namespaces/default/workflows?{urlencode({'query': DOSSIERS_ONLY})}")
    await expect(rows.filter(has_text=workflow_id(consulting))).to_be_visible(timeout=LOADED_MS)
    await expect(rows.filter(has_text=workflow_id(stopped))).to_be_visible()
    await expect(rows.filter(has_text=SWEEP_RUN)).to_have_count(0)
    await page.get_by_test_id("create-view-button").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_test_id("workflow-save-view-modal-input").fill(VIEW)
    await dialog.get_by_test_id("confirm-modal-button").click()
    await expect(page.get_by_role("button", name=VIEW)).to_be_visible()

    # The dossiers' search attributes as columns (Configure Columns, kept in the browser).
    await page.get_by_role("button", name="Configure Columns").click()
    for column in ("DossierStatus", "LeadAgency", "ProcedureCode", "DueAt"):
        await page.get_by_role("button", name=f"Add {column} column").click()
    for column in ("Run ID", "End"):
        await page.get_by_role("button", name=f"Remove {column} column").click()
    await page.reload()  # and they are still there
    stopped_row = rows.filter(has_text=workflow_id(stopped))
    await expect(stopped_row).to_be_visible(timeout=LOADED_MS)
    for shown in ("stopped", "SXD", "DN-XD-001"):
        await expect(stopped_row).to_contain_text(shown)
    await expect(rows.filter(has_text=workflow_id(consulting))).to_contain_text("consulting")
    await screenshot(page, "web-ui-dossiers-only")


async def test_ops_staff_read_current_details_spaced_zoned_and_who_stopped_and_why(
    api: Api, page: Page, ui: str
) -> None:
    stopped = (await receive(api))["code"]
    assert (await act(api, stopped, "sos", {"action": "stop", "reason": STOP_REASON})).is_success
    consulting = (await receive(api))["code"]
    await consult(api, consulting, "SNNMT", "CAT")

    details = await current_details(page, ui, consulting)
    text = await details.locator("body").inner_text()
    assert "consulting · lead agency SXD · procedure DN-XD-001" in text
    assert "Awaiting opinions (2)" in text
    # One line per agency, its words apart (the old table read "SNNMT02:48 …yes1").
    lines = [line.strip() for line in text.splitlines()]
    for agency in ("SNNMT", "CAT"):
        [line] = [line for line in lines if line.startswith(f"{agency} · deadline ")]
        assert ZONED.search(line) and line.endswith("· on time · no reminder yet"), line
    assert re.search(r"Due: " + ZONED.pattern, text), text
    await screenshot(page, "web-ui-current-details-consulting")

    details = await current_details(page, ui, stopped)
    text = " ".join((await details.locator("body").inner_text()).split())
    assert "stopped · lead agency SXD" in text
    assert re.search(r"Due: " + ZONED.pattern + ", clock stopped", text), text
    said = re.search(
        r"Last SOS: stop by Nguyễn Văn An \(sxd\.officer\) at (.+?) · reason: (.+)", text
    )
    assert said is not None, text
    assert ZONED.fullmatch(said[1]) and said[2].startswith(STOP_REASON), said.groups()
    await screenshot(page, "web-ui-current-details-stopped")
