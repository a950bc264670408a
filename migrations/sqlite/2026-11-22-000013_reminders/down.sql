DROP INDEX assignments_open_leads_due;
DROP TABLE reminders;
