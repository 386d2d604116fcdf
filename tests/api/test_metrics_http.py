"""`GET /metrics` over real HTTP (issue 11, "Metrics"): requests counted by route template and
status, never by raw path; problems counted by their stable code; the read model's figures
(open dossiers, overdue consultations, reminders sent, undelivered notices) as the scrape reads
them; the endpoint outside the OpenAPI document, behind the metrics token when one is set."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.auth import Authenticator
from settings import Settings
from tests.api.http_helpers import consult, eventually, serving
from tests.fixtures.api import SECRET, Api

WITHIN = 20  # seconds for the ladder's reminder 1 to reach the outbox


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


async def scrape(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await api.http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_count_requests_by_route_template_and_problems_by_code(api: Api) -> None:
    route = "/api/v1/dossiers/{code}"
    before = await scrape(api)
    code = (await api.receive())["code"]
    for _ in range(2):
        assert (await api.get(f"/api/v1/dossiers/{code}")).status_code == 200
    missing = await api.get("/api/v1/dossiers/KHONG-CO-HO-SO")
    assert missing.status_code == 404
    assert (await api.get("/khong/co/trang/nay", user=None)).status_code == 404
    after = await scrape(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "motcua_http_requests_total"
    assert delta(requests, method="GET", route=route, status="200") == 2
    assert delta(requests, method="GET", route=route, status="404") == 1
    assert delta(requests, method="POST", route="/api/v1/dossiers", status="201") == 1
    assert delta(requests, method="GET", route="unmatched", status="404") == 1
    seconds = "motcua_http_request_duration_seconds_count"
    assert delta(seconds, method="GET", route=route) == 3
    problems = "motcua_http_problems_total"
    assert delta(problems, code="dossier_not_found", status="404") == 1
    assert delta(problems, code="not_found", status="404") == 1
    # One series per route whatever the dossiers: no raw path in any label.
    text = (await api.http.get("/metrics")).text
    assert code not in text and "KHONG-CO-HO-SO" not in text and "trang/nay" not in text


async def test_metrics_read_model_figures_open_overdue_reminders_undelivered(api: Api) -> None:
    first = (await api.receive())["code"]
    await api.receive()
    await consult(api, first, "CAT", in_seconds=3)  # not in the past on a loaded CI

    def reminded(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> bool:
        return value(scraped, "motcua_reminders_sent_total", kind="reminder_1") == 1

    scraped = await eventually(
        lambda: scrape(api), reminded, within=WITHIN, what="reminder 1 in the metrics"
    )
    assert value(scraped, "motcua_ops_figures_up") == 1
    by_status = {
        dict(labels)["status"]: v
        for (name, labels), v in scraped.items()
        if name == "motcua_open_dossiers" and dict(labels)["lead_agency"] == "SXD"
    }
    assert by_status == {"consulting": 1, "processing": 1}, by_status
    assert value(scraped, "motcua_overdue_consultations", agency="CAT") == 1
    # The oldest undelivered notice has an age exactly when some notice is undelivered.
    undelivered = sum(v for (name, _), v in scraped.items() if name == "motcua_undelivered_notices")
    age = value(scraped, "motcua_oldest_undelivered_notice_age_seconds")
    assert (undelivered == 0) == (age == 0), (undelivered, age)
    # The sweep of ended runs has not run for this test's task queue: no last run to show.
    assert not any(name.startswith("motcua_ended_runs_sweep") for name, _ in scraped)


async def test_metrics_outside_openapi_and_behind_the_metrics_token(
    api: Api, database_url: str
) -> None:
    document = (await api.http.get("/openapi.json")).json()
    assert "/metrics" not in document["paths"]
    settings = Settings(database_url=database_url, metrics_token="a-token-for-prometheus-only")
    async with serving(create_app(settings, Authenticator.with_secret(SECRET))) as http:
        refused = await http.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthenticated"
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer another"})
        assert wrong.status_code == 401
        given = {"Authorization": "Bearer a-token-for-prometheus-only"}
        answered = await http.get("/metrics", headers=given)
        assert answered.status_code == 200
        assert "motcua_open_dossiers" in answered.text
