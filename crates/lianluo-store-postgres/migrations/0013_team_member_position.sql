-- SQLite's team_members gains the position column PostgreSQL has had since 0001; nothing changes here
-- (the migration keeps both backends' versions in step).
SELECT 1;
