-- Media Lab jobs: each job is a run of the `media` graph on a thread of its own (thread id =
-- job id), on the run engine; `runs` says whether it is queued, running, or how it ended.
CREATE TABLE media_jobs (
    job_id          text PRIMARY KEY,
    owner           text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('upscale', 'interpolate', 'generate', 'blend')),
    -- [{upload_id, sha256, kind, mime}] in the order given.
    inputs          jsonb NOT NULL,
    preset_id       text NOT NULL,
    preset_version  integer NOT NULL,
    -- The checked parameters the job runs with (preset merged with the request's overrides).
    params          jsonb NOT NULL,
    -- What the request asked for (factor, fps, prompt, weights, mode ...), as checked.
    request         jsonb NOT NULL,
    run_id          text,
    retry_of        text REFERENCES media_jobs (job_id),
    -- A job asked for in a studio thread ("upscale hero-b 2x"): that thread and its asset.
    source_thread   text,
    source_asset    uuid,
    -- SUCCEEDED is written with the artifact; QUEUED / RUNNING / FAILED / CANCELLED are read
    -- from the job's run (store/media_jobs.py), so one place decides them.
    status          text NOT NULL DEFAULT 'QUEUED',
    progress        real NOT NULL DEFAULT 0,
    stage           text NOT NULL DEFAULT '',
    started_at      timestamptz,
    finished_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_jobs_owner_created_idx ON media_jobs (owner, created_at DESC, job_id);
CREATE INDEX media_jobs_created_idx ON media_jobs (created_at DESC, job_id);
CREATE INDEX media_jobs_retry_of_idx ON media_jobs (retry_of);
CREATE INDEX media_jobs_source_thread_idx ON media_jobs (source_thread) WHERE source_thread IS NOT NULL;

-- What a job made: one artifact per job (content-addressed file) with its full lineage.
CREATE TABLE media_artifacts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id          text NOT NULL UNIQUE REFERENCES media_jobs (job_id),
    kind            text NOT NULL,
    sha256          text NOT NULL,
    path            text NOT NULL,
    mime            text NOT NULL,
    width           integer NOT NULL,
    height          integer NOT NULL,
    fps             double precision,
    frames          integer,
    duration_s      double precision,
    has_audio       boolean NOT NULL DEFAULT false,
    bytes           bigint NOT NULL,
    -- 'embedded' or 'comfyui'; backend_detail: the server and prompt id, or the pipeline.
    backend         text NOT NULL,
    backend_detail  jsonb NOT NULL DEFAULT '{}',
    label           text NOT NULL DEFAULT '',
    -- {job, kind, inputs: [{upload_id, sha256}], preset: {id, version}, params, backend,
    --  timings: {queued_at, started_at, finished_at, seconds}}
    lineage         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_artifacts_sha256_idx ON media_artifacts (sha256);
CREATE INDEX media_artifacts_inputs_idx ON media_artifacts USING gin ((lineage -> 'inputs') jsonb_path_ops);
