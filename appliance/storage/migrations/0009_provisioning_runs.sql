-- Each time `tpkit firstboot` applied the boot partition's kit.toml: when, from which file, and the
-- problems it found (JSON list of strings; empty when all was well), so the admin page can show
-- them to someone who has no access to the journal. One row per run, never updated.
CREATE TABLE provisioning_runs (
    id INTEGER PRIMARY KEY,
    ran_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    boot_file TEXT NOT NULL,
    problems_json TEXT NOT NULL,
    applied_json TEXT NOT NULL
);
