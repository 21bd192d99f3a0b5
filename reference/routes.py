"""The contract's routes, written once for every reference app (COUNTER-EXAMPLES).

Each reference module passes in what its seed text decides: the dependency that hands
an endpoint its session, and whether the endpoint commits (``commit=True``: the
endpoint calls ``commit()`` itself) or only flushes and leaves the commit to the
pattern's dependency or middleware. The code is the plain style of the seed texts and
of most tutorials: ``db.get`` for reads, ``IntegrityError`` turned into a 409, the
request's session and ORM object handed to the background task, relationships read
by attribute access, ``POST /users/import`` catches a duplicate row's error and goes on
without a savepoint, and ``process`` keeps the first object it read in a variable, as
the seed text's example does (the identity map holds objects weakly, so the stale
read needs that reference). ``GET /users/export`` is left out: no probe uses it.
"""

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from common import Email, EmailOut, ExternalService, User, UserIn, UserOut, UserPatch
from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Query, Response
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

Limit = Query(50, ge=1, le=100)
Offset = Query(0, ge=0)


def add_sync_routes(app: FastAPI, get_db: Callable[..., Any], *, commit: bool) -> None:
    external = ExternalService()
    Db = Annotated[Session, Depends(get_db)]

    def save(db: Session) -> None:
        try:
            db.commit() if commit else db.flush()
        except IntegrityError:
            db.rollback()
            raise HTTPException(409, "email already registered") from None

    def find(db: Session, user_id: int) -> User:
        user = db.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user

    def send_welcome(db: Session, user: User) -> None:
        db.add(Email(user_id=user.id, to_address=user.email, subject=f"Welcome, {user.name}!"))
        db.commit()

    @app.get("/health")
    def health(db: Db) -> dict[str, str]:
        db.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.post("/users", status_code=201, response_model=UserOut)
    def create_user(body: UserIn, db: Db) -> User:
        user = User(email=body.email, name=body.name)
        db.add(user)
        save(db)
        return user

    @app.post("/users/import")
    def import_users(rows: list[UserIn], db: Db) -> dict[str, list[Any]]:
        created: list[Any] = []
        rejected: list[Any] = []
        for index, row in enumerate(rows):
            user = User(email=row.email, name=row.name)
            db.add(user)
            try:
                save(db)
            except HTTPException as error:
                rejected.append({"index": index, "email": row.email, "detail": error.detail})
            else:
                created.append(UserOut.model_validate(user))
        return {"created": created, "rejected": rejected}

    @app.get("/users", response_model=list[UserOut])
    def list_users(db: Db, offset: int = Offset, limit: int = Limit) -> list[User]:
        return list(db.scalars(select(User).order_by(User.id).offset(offset).limit(limit)))

    @app.get("/users/{user_id}", response_model=UserOut)
    def get_user(user_id: int, db: Db) -> User:
        return find(db, user_id)

    @app.patch("/users/{user_id}", response_model=UserOut)
    def update_user(user_id: int, body: UserPatch, db: Db) -> User:
        user = find(db, user_id)
        for field, value in body.model_dump(exclude_unset=True).items():
            setattr(user, field, value)
        save(db)
        return user

    @app.delete("/users/{user_id}", status_code=204)
    def delete_user(user_id: int, db: Db) -> Response:
        db.delete(find(db, user_id))
        save(db)
        return Response(status_code=204)

    @app.post("/users/{user_id}/process", response_model=UserOut)
    def process(user_id: int, db: Db) -> User:
        user = find(db, user_id)  # cached
        external.add_credit(user_id)  # modifies the user in another transaction
        user = find(db, user_id)
        return user

    @app.post("/users/{user_id}/welcome", status_code=202)
    def welcome(user_id: int, background_tasks: BackgroundTasks, db: Db) -> dict[str, str]:
        user = find(db, user_id)
        background_tasks.add_task(send_welcome, db, user)
        return {"status": "scheduled"}

    @app.get("/users/{user_id}/emails", response_model=list[EmailOut])
    def list_emails(user_id: int, db: Db) -> list[Email]:
        return find(db, user_id).emails


def add_async_routes(app: FastAPI, get_db: Callable[..., Any], *, commit: bool) -> None:
    external = ExternalService()
    Db = Annotated[AsyncSession, Depends(get_db)]

    async def save(db: AsyncSession) -> None:
        try:
            await (db.commit() if commit else db.flush())
        except IntegrityError:
            await db.rollback()
            raise HTTPException(409, "email already registered") from None

    async def find(db: AsyncSession, user_id: int) -> User:
        user = await db.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user

    async def send_welcome(db: AsyncSession, user: User) -> None:
        db.add(Email(user_id=user.id, to_address=user.email, subject=f"Welcome, {user.name}!"))
        await db.commit()

    @app.get("/health")
    async def health(db: Db) -> dict[str, str]:
        await db.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(body: UserIn, db: Db) -> User:
        user = User(email=body.email, name=body.name)
        db.add(user)
        await save(db)
        if commit:
            await db.refresh(user)  # what the tutorials add after an async commit
        return user

    @app.post("/users/import")
    async def import_users(rows: list[UserIn], db: Db) -> dict[str, list[Any]]:
        created: list[Any] = []
        rejected: list[Any] = []
        for index, row in enumerate(rows):
            user = User(email=row.email, name=row.name)
            db.add(user)
            try:
                await save(db)
            except HTTPException as error:
                rejected.append({"index": index, "email": row.email, "detail": error.detail})
            else:
                if commit:
                    await db.refresh(user)
                created.append(UserOut.model_validate(user))
        return {"created": created, "rejected": rejected}

    @app.get("/users", response_model=list[UserOut])
    async def list_users(db: Db, offset: int = Offset, limit: int = Limit) -> list[User]:
        rows = await db.scalars(select(User).order_by(User.id).offset(offset).limit(limit))
        return list(rows)

    @app.get("/users/{user_id}", response_model=UserOut)
    async def get_user(user_id: int, db: Db) -> User:
        return await find(db, user_id)

    @app.patch("/users/{user_id}", response_model=UserOut)
    async def update_user(user_id: int, body: UserPatch, db: Db) -> User:
        user = await find(db, user_id)
        for field, value in body.model_dump(exclude_unset=True).items():
            setattr(user, field, value)
        await save(db)
        if commit:
            await db.refresh(user)
        return user

    @app.delete("/users/{user_id}", status_code=204)
    async def delete_user(user_id: int, db: Db) -> Response:
        await db.delete(await find(db, user_id))
        await save(db)
        return Response(status_code=204)

    @app.post("/users/{user_id}/process", response_model=UserOut)
    async def process(user_id: int, db: Db) -> User:
        user = await find(db, user_id)  # cached
        await asyncio.to_thread(external.add_credit, user_id)
        user = await find(db, user_id)
        return user

    @app.post("/users/{user_id}/welcome", status_code=202)
    async def welcome(user_id: int, background_tasks: BackgroundTasks, db: Db) -> dict[str, str]:
        user = await find(db, user_id)
        background_tasks.add_task(send_welcome, db, user)
        return {"status": "scheduled"}

    @app.get("/users/{user_id}/emails", response_model=list[EmailOut])
    async def list_emails(user_id: int, db: Db) -> list[Email]:
        return (await find(db, user_id)).emails
