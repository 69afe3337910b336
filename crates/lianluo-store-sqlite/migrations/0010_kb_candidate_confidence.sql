-- How likely the mined reply answers its question (the re-ranker's calibrated probability); pending candidates
-- are listed most confident first.
ALTER TABLE kb_candidates ADD COLUMN confidence REAL;
