-- `tpkit sync` updating books by patch (issue 3, docs/sync.md "Updates by patch").
-- A book rebuilt from patches has other bytes than the publisher's full file, so its identity for the plan is its
-- entry digest (docs/channels.md): recorded for the installed version, a pending switch, the previous version and
-- a version rolled back from. patch_failed_digest: the result a patch update failed to build; the next run
-- fetches that version as the full package instead.
ALTER TABLE installed_packages ADD COLUMN digest TEXT;
ALTER TABLE installed_packages ADD COLUMN pending_digest TEXT;
ALTER TABLE installed_packages ADD COLUMN previous_digest TEXT;
ALTER TABLE installed_packages ADD COLUMN held_digest TEXT;
ALTER TABLE installed_packages ADD COLUMN patch_failed_digest TEXT;
