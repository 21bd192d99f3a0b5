"""Contract behaviour 8: the schema comes from Alembic; upgrade on an empty database,
no drift between migrations and models, and a clean downgrade."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from tests.support import alembic


def tables(admin: Engine) -> set[str]:
    return set(inspect(admin).get_table_names())


@pytest.fixture
def restores_head(migrated_url: str) -> Iterator[str]:
    """Leave the database at head for the other tests, whatever happens here."""
    yield migrated_url
    alembic(migrated_url, "upgrade", "head")


def test_upgrade_check_downgrade(restores_head: str, admin: Engine) -> None:
    url = restores_head
    alembic(url, "downgrade", "base")
    with admin.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    assert tables(admin) == set()

    alembic(url, "upgrade", "head")
    assert tables(admin) == {"alembic_version", "users", "emails"}
    alembic(url, "check")  # raises if the models and the migrations disagree

    alembic(url, "downgrade", "base")
    assert tables(admin) == {"alembic_version"}


def test_schema_is_the_contracts(admin: Engine) -> None:
    inspector = inspect(admin)
    users = {column["name"]: column for column in inspector.get_columns("users")}
    emails = {column["name"]: column for column in inspector.get_columns("emails")}
    assert list(users) == ["id", "email", "name", "credits"]
    assert list(emails) == ["id", "user_id", "to_address", "subject", "created_at"]
    assert not any(column["nullable"] for column in [*users.values(), *emails.values()])
    lengths = {
        name: getattr(column["type"], "length", None)
        for name, column in [*users.items(), *emails.items()]
    }
    assert lengths["email"] == 320
    assert lengths["name"] == 100
    assert lengths["to_address"] == 320
    assert lengths["subject"] == 200
    assert inspector.get_pk_constraint("users")["constrained_columns"] == ["id"]
    unique = [c["column_names"] for c in inspector.get_unique_constraints("users")]
    assert ["email"] in unique
    [foreign_key] = inspector.get_foreign_keys("emails")
    assert foreign_key["constrained_columns"] == ["user_id"]
    assert foreign_key["referred_table"] == "users"
    assert foreign_key["referred_columns"] == ["id"]
    assert foreign_key["options"].get("ondelete") == "CASCADE"
    if admin.dialect.name == "postgresql":
        assert getattr(emails["created_at"]["type"], "timezone", None) is True


def test_credits_default_to_zero_in_the_database(admin: Engine) -> None:
    with admin.begin() as connection:
        connection.execute(
            text("INSERT INTO users (email, name) VALUES ('a@x.io', 'Ann')")
        )
        assert connection.scalar(text("SELECT credits FROM users")) == 0
