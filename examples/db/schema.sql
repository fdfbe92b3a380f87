-- The example's tables. Run once per data volume by tend (x-tend.seed of the
-- postgres service); tend records it in the table tend_seed.
CREATE TABLE items (
    id serial PRIMARY KEY,
    name text NOT NULL,
    note text NOT NULL
);

-- One row per job the RQ worker finished.
CREATE TABLE job_results (
    job_id text PRIMARY KEY,
    payload text NOT NULL,
    result text NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);
