-- A team's weekly business hours in its time zone (JSON); NULL means the
-- team is always open.
ALTER TABLE teams ADD COLUMN hours TEXT;
-- A paused bot hands its conversations to humans and takes no new ones.
ALTER TABLE bots ADD COLUMN paused_at BIGINT;
