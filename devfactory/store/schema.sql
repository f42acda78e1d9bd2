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
