"""Installation settings: where the store is, import limits, the 身份证号 hashing key.

Settings come from, in order of precedence: explicit arguments (the command line's ``--db``),
environment variables, the TOML configuration file, then defaults. Every key is documented in
``config.example.toml``.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "kaohe.duckdb"
DEFAULT_CONFIG = ROOT / "config.toml"


class ConfigError(Exception):
    """A configuration file or value that cannot be used; the message is for the user."""


@dataclass(frozen=True)
class ImportLimits:
    score_max: float = 100.0
    completion_tolerance: int = 0
    max_file_mb: int = 500


AUTH_MODES = ("auto", "signin", "desktop")


@dataclass(frozen=True)
class AuthSettings:
    """Sign-in. ``auto``: required whenever the store holds real (non-demo) data;
    ``signin``: always; ``desktop``: a declared single-user install, never (every page says so)."""

    mode: str = "auto"
    users_file: Path | None = None  # default: beside the store, <store>.users.json
    max_failures: int = 5  # failed sign-ins per account (or per address) ...
    lockout_minutes: int = 15  # ... within this many minutes block further attempts
    oidc_provider: str | None = None  # an [auth.<provider>] section of .streamlit/secrets.toml for st.login


@dataclass(frozen=True)
class Settings:
    db_path: Path = DEFAULT_DB
    config_path: Path | None = None
    limits: ImportLimits = field(default_factory=ImportLimits)
    id_hash_key: bytes | None = None
    demo_on_empty: bool = True
    min_group_size: int = 5
    auth: AuthSettings = field(default_factory=AuthSettings)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def users_path(self) -> Path:
        return self.auth.users_file or self.db_path.with_name(self.db_path.name + ".users.json")

    def hash_key(self) -> bytes:
        """The key for hashing 身份证号: configured, or kept in a file beside the store."""
        if self.id_hash_key:
            return self.id_hash_key
        return _key_file_key(self.db_path)


def _key_file_key(db_path: Path) -> bytes:
    key_file = db_path.with_name(db_path.name + ".idkey")
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip().encode("ascii")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key.encode("ascii")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {path} 格式有误：{exc}") from exc


def load_settings(db: str | os.PathLike[str] | None = None, config: str | None = None) -> Settings:
    """Build the settings for this process."""
    config_path = Path(config or os.environ.get("KAOHE_CONFIG") or DEFAULT_CONFIG)
    raw = _read_toml(config_path) if config_path.exists() else {}
    store = raw.get("store", {})
    imp = raw.get("import", {})
    app = raw.get("app", {})
    db_path = Path(db or os.environ.get("KAOHE_DB") or store.get("path") or DEFAULT_DB)
    key = os.environ.get("KAOHE_ID_KEY") or imp.get("id_hash_key")
    try:
        limits = ImportLimits(
            score_max=float(imp.get("score_max", 100)),
            completion_tolerance=int(imp.get("completion_tolerance", 0)),
            max_file_mb=int(imp.get("max_file_mb", 500)),
        )
        min_group = int(app.get("min_group_size", 5))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"配置文件 {config_path} 中的数值无法识别：{exc}") from exc
    auth = _auth_settings(raw.get("auth", {}), config_path)
    env_demo = os.environ.get("KAOHE_DEMO_ON_EMPTY")
    demo_on_empty = bool(app.get("demo_on_empty", True))
    if env_demo is not None:
        demo_on_empty = env_demo.strip().lower() not in ("0", "false", "no", "off")
    return Settings(
        db_path=db_path,
        config_path=config_path if config_path.exists() else None,
        limits=limits,
        id_hash_key=key.encode("utf-8") if key else None,
        demo_on_empty=demo_on_empty,
        min_group_size=min_group,
        auth=auth,
        raw=raw,
    )


def _auth_settings(section: dict[str, Any], config_path: Path) -> AuthSettings:
    mode = str(os.environ.get("KAOHE_AUTH_MODE") or section.get("mode", "auto")).strip().lower()
    if mode not in AUTH_MODES:
        raise ConfigError(f"配置文件 {config_path} 中 [auth] mode 只能是 {'、'.join(AUTH_MODES)}，而不是「{mode}」")
    users_file = os.environ.get("KAOHE_USERS_FILE") or section.get("users_file")
    try:
        return AuthSettings(
            mode=mode,
            users_file=Path(users_file) if users_file else None,
            max_failures=max(1, int(section.get("max_failures", 5))),
            lockout_minutes=max(1, int(section.get("lockout_minutes", 15))),
            oidc_provider=section.get("oidc_provider") or None,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"配置文件 {config_path} 的 [auth] 中的数值无法识别：{exc}") from exc
