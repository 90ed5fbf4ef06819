-- Issue 20: an alert is told again (hub/notify.py). raised_at: when the open episode's severity last got worse
-- (warning to critical), so each channel sends it again, and a technician's acknowledgement of the milder alert no
-- longer keeps it back. Reminders of open, unacknowledged episodes every hub_notify_repeat_h hours compare a
-- channel's last send (webhook_opened_at, mail_opened_at) with the time and need no column.
ALTER TABLE alert_states ADD COLUMN raised_at DOUBLE PRECISION
