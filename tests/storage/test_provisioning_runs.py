"""Provisioning runs and the provisioned administrator password in a real SQLite file."""

from __future__ import annotations

import time

from appliance.storage.accounts import Accounts
from appliance.storage.database import Database
from appliance.storage.provisioning_runs import ProvisioningRuns


def test_provisioning_runs_latest_and_count(tmp_path):
    db = Database(tmp_path / "tpkit.sqlite3")
    db.migrate()
    runs = ProvisioningRuns(db)
    assert runs.latest() is None and runs.count() == 0
    runs.record("/boot/firmware/kit.toml", ["settings written"], [])
    runs.record("/boot/firmware/kit.toml", ["settings written"], ["time_zone 'Mars/Olympus' … 时区"])
    latest = runs.latest()
    assert runs.count() == 2 and latest.problems == ("time_zone 'Mars/Olympus' … 时区",)
    assert latest.applied == ("settings written",) and latest.ran_at.endswith("Z")
    db.close()


def test_provisioning_password_replaces_the_hash_and_ends_sessions(tmp_path):
    db = Database(tmp_path / "tpkit.sqlite3")
    db.migrate()
    accounts = Accounts(db)
    account_id = accounts.create("admin", "admin", "old-hash", must_change_password=True)
    accounts.add_session("digest", account_id, time.time() + 60)
    accounts.provision("admin", "admin", "new-hash")
    row = accounts.by_username("admin")
    assert (row["id"], row["password_hash"], row["must_change_password"]) == (account_id, "new-hash", 0)
    assert accounts.session_account("digest", time.time()) is None
    accounts.provision("teacher1", "teacher", "t-hash")
    assert accounts.by_username("teacher1")["role"] == "teacher"
    db.close()
