"""Contract behaviour 10: the API honours its own OpenAPI schema.

Schemathesis reads ``/openapi.json`` from a real server and sends what the schema
calls valid and what it calls invalid, one request at a time and in sequences that
pass the ids one response returns on to the next request. Every answer is checked
against the schema: its status is declared, its body and content type are the
declared ones, invalid input is refused and valid input accepted, a deleted user is
gone, and no answer is a server error.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.support import DEFAULT_POOL, ServerFactory

# Enough to find what the explicit tests would miss, and still run in seconds.
EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def api_schema(serve: ServerFactory) -> Iterator[OpenApiSchema]:
    with serve(**DEFAULT_POOL) as server:
        yield schemathesis.openapi.from_url(f"{server.url}/openapi.json")


@pytest.mark.parametrize("mode", list(GenerationMode))
def test_every_operation_honours_the_schema(
    api_schema: OpenApiSchema, mode: GenerationMode
) -> None:
    @given(case=api_schema.as_strategy(generation_mode=mode))
    @EXAMPLES
    def request(case: Case[Any]) -> None:
        case.call_and_validate()

    request()


def test_call_sequences_honour_the_schema(
    api_schema: OpenApiSchema, clear_tables: Callable[[], None]
) -> None:
    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each sequence starts from empty tables, so the same choices replay the
            # same way (Hypothesis insists on it when it shrinks a failure).
            clear_tables()

    Workflow.run(settings=settings(EXAMPLES, max_examples=20, stateful_step_count=8))
