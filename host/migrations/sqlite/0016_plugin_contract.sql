-- The contract version each plugin was built against. Every upload before
-- this column existed was built against 0.1.0.
ALTER TABLE plugins ADD COLUMN contract TEXT NOT NULL DEFAULT '0.1.0';
