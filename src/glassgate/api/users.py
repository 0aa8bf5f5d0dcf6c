"""/api/v1/users: the web app's users, managed by admins (the admin token or role admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from glassgate.api.auth import passwords_of, require_admin_role, sessions_of
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.storage import users
from glassgate.storage.users import Role

router = APIRouter(prefix="/api/v1/users", tags=["users"], dependencies=[Depends(require_admin_role)])


def _policy_email(value: str) -> str:
    value = value.strip()
    problem = users.email_problem(value)
    if problem is not None:
        raise PydanticCustomError("email", problem)
    return value


def _policy_password(value: str) -> str:
    problem = users.password_problem(value)
    if problem is not None:
        raise PydanticCustomError("password_policy", problem)
    return value


Email = Annotated[str, AfterValidator(_policy_email)]
NewPassword = Annotated[
    str,
    AfterValidator(_policy_password),
    Field(
        description=f"At least {users.MIN_PASSWORD_LENGTH} characters.",
        # In the schema for the web app's forms; checked by the validator, whose message is clearer.
        json_schema_extra={"minLength": users.MIN_PASSWORD_LENGTH, "maxLength": users.MAX_PASSWORD_LENGTH},
    ),
]
Name = Annotated[str, Field(max_length=200, description="Shown in the web app and on annotations.")]


class User(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None = Field(description="Set while the user is disabled and cannot sign in.")


class UserList(BaseModel):
    data: list[User]


class NewUser(BaseModel):
    email: Email
    password: NewPassword
    name: Name = ""
    role: Role = "member"


class UserChanges(BaseModel):
    name: Name | None = None
    role: Role | None = None
    password: NewPassword | None = Field(default=None, description="Signs the user out everywhere.")
    disabled: bool | None = Field(default=None, description="true signs the user out everywhere; false re-enables.")


def user_json(user: users.User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "created_at": user.created_at,
        "disabled_at": user.disabled_at,
    }


@router.get("", response_model=UserList, summary="List users")
async def list_users(request: Request) -> dict[str, Any]:
    return {"data": [user_json(user) for user in await users.list_users(pool_of(request))]}


@router.post("", response_model=User, status_code=201, summary="Add a user")
async def create_user(request: Request, new: NewUser) -> dict[str, Any]:
    try:
        user = await users.create_user(
            pool_of(request),
            passwords_of(request),
            email=new.email,
            password=new.password,
            name=new.name,
            role=new.role,
        )
    except users.EmailTaken as exc:
        raise Problem(409, "Email taken", str(exc)) from None
    except users.UserRejected as exc:
        raise Problem(422, "Invalid request", str(exc)) from None
    return user_json(user)


@router.patch("/{user_id}", response_model=User, summary="Change a user's name, role or password, or disable it")
async def update_user(request: Request, user_id: str, changes: UserChanges) -> dict[str, Any]:
    try:
        user = await users.update_user(
            pool_of(request),
            passwords_of(request),
            user_id,
            name=changes.name,
            role=changes.role,
            password=changes.password,
            disabled=changes.disabled,
        )
    except users.LastAdmin as exc:
        raise Problem(409, "Last admin", str(exc)) from None
    except users.UserRejected as exc:
        raise Problem(422, "Invalid request", str(exc)) from None
    if user is None:
        raise Problem(404, "User not found", f"no user with id {user_id!r}")
    sessions_of(request).forget_user(user_id)  # the role or the right to sign in may have changed
    return user_json(user)
