"""User accounts: a JSON file beside the store, argon2 password hashes, managed from the command line.

The file (``<store>.users.json`` unless ``[auth] users_file`` says otherwise) is written atomically
with owner-only permissions, and read afresh at each sign-in, so ``python -m analytics users add``
works while the app is running. It never holds a password, only its argon2id hash.

    {"users": {"zhang": {"role": "leader", "districts": ["东湖区"], "units": [],
                         "display_name": "张主任", "password_hash": "$argon2id$..."}}}
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from analytics.access import ROLES, Scope

MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{2,64}$")
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("kaohe-no-such-user")


class UserError(Exception):
    """A user file or account request that cannot be carried out; the message is for the user."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    districts: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    display_name: str = ""
    password_hash: str = ""

    def scope(self) -> Scope:
        return Scope(self.role, self.districts, self.units, user=self.username)

    def as_json(self) -> dict:
        return {"role": self.role, "districts": list(self.districts), "units": list(self.units),
                "display_name": self.display_name, "password_hash": self.password_hash}


def load(path: Path) -> dict[str, User]:
    """Every account in the file; an absent file holds none."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries = raw["users"]
        users = {}
        for name, entry in entries.items():
            role = entry["role"]
            if role not in ROLES:
                raise UserError(f"账号文件 {path} 中账号 {name} 的角色「{role}」无法识别")
            users[name] = User(name, role, tuple(entry.get("districts", [])), tuple(entry.get("units", [])),
                               entry.get("display_name", ""), entry["password_hash"])
        return users
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"账号文件 {path} 无法读取或格式有误：{exc}") from exc


def _save(path: Path, users: dict[str, User]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"users": {n: u.as_json() for n, u in sorted(users.items())}}, ensure_ascii=False, indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码至少 {MIN_PASSWORD} 个字符")


def add(path: Path, username: str, password: str, role: str, districts: tuple[str, ...] = (),
        units: tuple[str, ...] = (), display_name: str = "") -> User:
    if not _NAME.match(username):
        raise UserError("账号名只能由字母、数字、汉字和 _ . @ - 组成，长度 2 到 64")
    if role not in ROLES:
        raise UserError(f"角色只能是：{'、'.join(f'{k}（{v}）' for k, v in ROLES.items())}")
    _check_password(password)
    users = load(path)
    if username in users:
        raise UserError(f"账号 {username} 已存在；修改密码用 users passwd")
    user = User(username, role, tuple(districts), tuple(units), display_name, _HASHER.hash(password))
    users[username] = user
    _save(path, users)
    return user


def remove(path: Path, username: str) -> None:
    users = load(path)
    if username not in users:
        raise UserError(f"没有账号 {username}")
    del users[username]
    _save(path, users)


def set_password(path: Path, username: str, password: str) -> None:
    users = load(path)
    if username not in users:
        raise UserError(f"没有账号 {username}")
    _check_password(password)
    old = users[username]
    users[username] = User(old.username, old.role, old.districts, old.units, old.display_name,
                           _HASHER.hash(password))
    _save(path, users)


def verify(path: Path, username: str, password: str) -> User | None:
    """The account when the password is right, else None (in about the same time either way)."""
    user = load(path).get(username)
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user
