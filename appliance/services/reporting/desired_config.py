"""The county's desired configuration for this kit: checked, applied, and put in force for sync (docs/sync.md,
"The county's configuration"; the wire format is docs/reporting.md).

Must not import web or cli. Delivery stores what the hub sent and calls `apply` at once; a configuration that
passes the kit's own checks is in force from the next sync (`in_force` gives the effective settings), and only
then does the kit acknowledge its `version` as `applied_config_version`. A refused one keeps the last good one
in force and is named, with why, in `tpkit report`'s output (the journal), `tpkit report --status`, `tpkit sync`
and the admin page. For each field the hub sets, its value wins over kit.toml, the environment and flags;
a field the hub leaves `null` (or does not send) keeps the kit's own value.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from appliance.config import Settings, check_value
from appliance.errors import ConfigError
from appliance.protocol.desired_config import FIELDS, is_channel_list, is_whole_number
from appliance.protocol.sync_windows import parse_windows
from appliance.storage.uplink_state import UplinkRow, UplinkState

if TYPE_CHECKING:
    from appliance.services.kit import Kit


def desired_config(kit: Kit) -> dict[str, Any] | None:
    """The hub's last desired configuration ({"version", "sync_channels", "sync_windows", "sync_rate_cap_kbps",
    "sync_rate_cap_percent", "sync_month_budget_mb"} as the hub sent it), or None when the hub set none or never
    answered."""
    return kit.uplink.read().desired_config


def origin(version: int) -> str:
    """How a value set by the hub is named beside the kit's own sources ("default", "… kit.toml key …")."""
    return f"hub version {version}"


class HubConfigRefused(ConfigError):
    """A desired configuration this kit refused; `said` words why in a page's language: {"key": a `config.refused.*`
    message key, "name": the setting (its label is `admin.setting.<name>`), "value": the value as the hub sent it}."""

    def __init__(self, version: Any, problem: str, key: str, name: str = "", raw: Any = None) -> None:
        super().__init__(
            f"The county's configuration version {version} was refused: {problem}.",
            code="config.hub_refused",
            cause="The hub sent a value this kit cannot use (a newer hub, or a typing slip on the hub).",
            fix="Correct it on the hub (the kit's page, or `tpkit hub kit config KIT …`); the kit applies "
            "the next version it receives and meanwhile keeps the last configuration it accepted.",
        )
        shown = "" if raw is None else raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        self.said = {"key": key, "name": name, "value": shown}


def _refused(version: Any, problem: str, key: str = "config.refused.no_version", name: str = "", raw: Any = None):
    return HubConfigRefused(version, problem, key, name, raw)


def check(config: dict[str, Any]) -> dict[str, Any]:
    """The settings a desired configuration sets ({name: value as Settings holds it}; `null` fields left out), or
    ConfigError (config.hub_refused) naming the first value this kit cannot use. Unknown fields are ignored (a
    newer hub may send more)."""
    version = config.get("version") if isinstance(config, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise _refused(version, "it has no version number")
    values: dict[str, Any] = {}
    for name in FIELDS:
        raw = config.get(name)
        if raw is None:
            continue
        if name == "sync_channels":
            if not is_channel_list(raw):
                raise _refused(
                    version,
                    f"sync_channels = {raw!r} is not a list of channel names",
                    "config.refused.not_channels",
                    name,
                    raw,
                )
            raw = ", ".join(raw)
        elif name != "sync_windows" and not is_whole_number(raw):
            raise _refused(version, f"{name} = {raw!r} is not a whole number", "config.refused.not_whole", name, raw)
        value, problem = check_value(name, raw, origin(version))
        if problem:
            raise _refused(version, problem, "config.refused.value", name, raw)
        if name == "sync_windows":
            try:
                parse_windows(value)
            except ValueError as exc:
                raise _refused(version, f"sync_windows = {raw!r}: {exc}", "config.refused.windows", name, raw) from exc
        values[name] = value
    return values


@dataclasses.dataclass(frozen=True)
class Applied:
    """What `apply` did: the version in force afterwards, whether that changed, and a refusal if there was one."""

    version: int | None
    changed: bool
    refused: ConfigError | None = None


def apply(kit: Kit, config: dict[str, Any] | None, when: str) -> Applied:
    """Put the hub's `config` in force when it passes `check` (None: the county set none, kit.toml alone);
    else record the refusal and keep the last good configuration."""
    state = kit.uplink.read()
    if config is None:
        if state.applied_config is not None or state.config_refused:
            kit.uplink.config_applied(None, when)
            return Applied(None, True)
        return Applied(None, False)
    try:
        check(config)
    except ConfigError as exc:
        if state.config_refused_version != config.get("version") or state.config_refused != exc.message:
            kit.uplink.config_refused_now(config.get("version"), exc.message)
        return Applied(state.applied_config_version, False, exc)
    if state.applied_config == config and not state.config_refused:
        return Applied(state.applied_config_version, False)
    kit.uplink.config_applied(config, when)
    return Applied(config["version"], True)


def _effective(settings: Settings, state: UplinkRow) -> Settings:
    config = state.applied_config
    if not config:
        return settings
    try:
        values = check(config)
    except ConfigError:  # checked before it was stored; a kit downgraded to a stricter tpkit keeps its own
        return settings
    sources = dict(settings.sources)
    sources.update({name: origin(config["version"]) for name in values})
    return dataclasses.replace(settings, sources=sources, **values)


def in_force(settings: Settings, db) -> Settings:
    """`settings` with the applied configuration's values over them, each named "hub version N" in `sources`."""
    return _effective(settings, UplinkState(db).read())


def in_snapshot(kit: Kit) -> dict[str, Any]:
    """The health snapshot's `hub_config`: the version in force and a refusal that stands, so the hub's kit page
    can say why a version is not acknowledged (`refused_said`: why in words the hub's pages translate)."""
    state = kit.uplink.read()
    return {
        "applied_version": state.applied_config_version,
        "refused_version": state.config_refused_version,
        "refused": state.config_refused or None,
        "refused_said": _said(state),
    }


def _said(state: UplinkRow) -> dict[str, str] | None:
    """Why the standing refusal was made, as HubConfigRefused.said words it: found again by checking the
    configuration the hub last sent (the one refused: a good one clears the refusal). None without a refusal."""
    config = state.desired_config
    if (
        not state.config_refused
        or not isinstance(config, dict)
        or config.get("version") != state.config_refused_version
    ):
        return None
    try:
        check(config)
    except HubConfigRefused as exc:
        return exc.said
    return None


def status(settings: Settings, db) -> dict[str, Any]:
    """For `tpkit sync --plan`, `tpkit report --status` and the admin page: each field's value and where it comes
    from, the version in force and the refusal standing (or None)."""
    state = UplinkState(db).read()
    effective = _effective(settings, state)
    return {
        "refused_said": _said(state),
        "applied_version": state.applied_config_version,
        "applied_at": state.applied_config_at,
        "refused_version": state.config_refused_version,
        "refused": state.config_refused or None,
        "fields": [
            {"name": name, "value": getattr(effective, name), "source": effective.sources.get(name, "default")}
            for name in FIELDS
        ],
    }
