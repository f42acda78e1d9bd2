-- devfactory's own tables; LangGraph's checkpointer manages its tables itself.
CREATE TABLE IF NOT EXISTS devfactory_runs (
    run_id      text PRIMARY KEY,
    requirement text NOT NULL,
    pipeline    text NOT NULL,
    status      text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    out_dir     text NOT NULL,
    pid         integer,
    host        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devfactory_runs_created ON devfactory_runs (created_at DESC);
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS spend jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE INDEX IF NOT EXISTS devfactory_runs_project ON devfactory_runs (project);

-- Every lifecycle transition of a run: who or what caused it, when and why.
-- ``key`` makes recording idempotent when a graph node is re-run.
CREATE TABLE IF NOT EXISTS devfactory_transitions (
    id         bigserial PRIMARY KEY,
    run_id     text NOT NULL REFERENCES devfactory_runs (run_id) ON DELETE CASCADE,
    key        text NOT NULL,
    from_phase text NOT NULL,
    to_phase   text NOT NULL,
    actor      text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, key)
);
