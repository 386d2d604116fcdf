"""The shared helpers of the HTTP tests assert too: let pytest explain their failures."""

import pytest

pytest.register_assert_rewrite("tests.api.http_helpers")
