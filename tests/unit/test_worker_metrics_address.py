"""Where each worker process serves its SDK metrics: the configured address's port plus the
process's index on its host, so that several worker processes never ask for the same port."""

from __future__ import annotations

import pytest

from telemetry.metrics import worker_metrics_address


@pytest.mark.parametrize(
    ("address", "index", "served"),
    [
        (None, 3, None),
        ("0.0.0.0:9464", 0, "0.0.0.0:9464"),
        ("0.0.0.0:9464", 2, "0.0.0.0:9466"),
        ("[::]:9464", 1, "[::]:9465"),
    ],
)
def test_worker_metrics_address_is_the_port_plus_the_worker_index(
    address: str | None, index: int, served: str | None
) -> None:
    assert worker_metrics_address(address, index) == served


@pytest.mark.parametrize("address", ["9464", "localhost", "host:port"])
def test_worker_metrics_address_refuses_what_is_not_host_and_port(address: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        worker_metrics_address(address)
