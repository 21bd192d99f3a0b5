"""Contract behaviour 10: the API honours its own OpenAPI schema.

Schemathesis reads ``/openapi.json`` from a real server and sends what the schema
calls valid and what it calls invalid, one request at a time and in sequences that
pass the ids one response returns on to the next request. Every answer is checked
against the schema: its status is declared, its body and content type are the
declared ones, invalid input is refused and valid input accepted, a deleted user is
gone, and no answer is a server error.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.support import DEFAULT_POOL, LiveServer

EXAMPLES = settings(
    deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


class Budget(NamedTuple):
    examples: int  # requests per generation mode
    sequences: int  # call sequences of up to 8 calls


#: The default run sends enough to catch a route that breaks its schema in seconds; the
#: thorough run (``pytest -m thorough``) sends four times as many.
BUDGETS = [
    pytest.param(Budget(examples=25, sequences=5), id="quick"),
    pytest.param(
        Budget(examples=100, sequences=20), id="thorough", marks=pytest.mark.thorough
    ),
]


@pytest.fixture(scope="module")
def module_server_settings() -> dict[str, Any]:
    """This module's shared server runs with the service's own pool settings, as a
    deployed service does (the tests' small, strict pool is there to catch leaks)."""
    return DEFAULT_POOL


@pytest.fixture
def api_schema(shared_server: LiveServer) -> OpenApiSchema:
    return schemathesis.openapi.from_url(f"{shared_server.url}/openapi.json")


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("mode", list(GenerationMode))
def test_every_operation_honours_the_schema(
    api_schema: OpenApiSchema, mode: GenerationMode, budget: Budget
) -> None:
    @given(case=api_schema.as_strategy(generation_mode=mode))
    @settings(EXAMPLES, max_examples=budget.examples)
    def request(case: Case[Any]) -> None:
        case.call_and_validate()

    request()


@pytest.mark.parametrize("budget", BUDGETS)
def test_call_sequences_honour_the_schema(
    api_schema: OpenApiSchema, clear_tables: Callable[[], None], budget: Budget
) -> None:
    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each sequence starts from empty tables, so the same choices replay the
            # same way (Hypothesis insists on it when it shrinks a failure).
            clear_tables()

    Workflow.run(
        settings=settings(
            EXAMPLES, max_examples=budget.sequences, stateful_step_count=8
        )
    )
