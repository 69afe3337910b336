-- A team's members keep their order in a column, as in PostgreSQL (the order was the rows' insertion order).
ALTER TABLE team_members ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE team_members SET position = (
    SELECT count(*) FROM team_members AS earlier
    WHERE earlier.team_id = team_members.team_id AND earlier.rowid < team_members.rowid
);
