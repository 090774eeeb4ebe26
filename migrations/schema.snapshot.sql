CREATE SCHEMA {schema};

CREATE FUNCTION {schema}.enqueue_workflow(name text, queue text, args json, workflow_id text DEFAULT NULL::text, traceparent text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql
    AS $_$
      DECLARE
        id  text := COALESCE(workflow_id, gen_random_uuid()::text);
        now bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
        IF name IS NULL OR name = '' THEN
          RAISE EXCEPTION 'enqueue_workflow: name is required (the workflow''s name, e.g. ''OrderEvents.onOrderCreated'')';
        END IF;
        IF traceparent IS NOT NULL AND (traceparent !~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
            OR substr(traceparent, 4, 32) = repeat('0', 32) OR substr(traceparent, 37, 16) = repeat('0', 16)) THEN
          RAISE EXCEPTION 'enqueue_workflow: traceparent must be a W3C traceparent, 00-<trace id: 32 lowercase hex>-<parent span id: 16 lowercase hex>-<flags: 2 hex>, ids not all zeros (e.g. ''00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01''), or NULL; got ''%''', traceparent
            USING ERRCODE = 'invalid_parameter_value';
        END IF;
        INSERT INTO "{schema}".workflow_status (workflow_id, status, workflow_name, inputs, queue_name, created_at, updated_at, trace_context)
        VALUES (
          id, 'ENQUEUED', name,
          CASE WHEN args IS NULL THEN '[]' WHEN json_typeof(args) = 'array' THEN args::text ELSE json_build_array(args)::text END,
          COALESCE(queue, '_dbos_internal'), now, now,
          CASE WHEN traceparent IS NULL THEN NULL ELSE '{"traceparent":"' || traceparent || '"}' END)
        ON CONFLICT DO NOTHING;
        RETURN id;
      END $_$;

CREATE FUNCTION {schema}.notify_queue() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
      BEGIN
        PERFORM pg_notify('{channel}', 'queue:' || NEW.queue_name);
        RETURN NULL;
      END $$;

CREATE FUNCTION {schema}.notify_schedule() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
      BEGIN
        PERFORM pg_notify('{channel}', 'schedule:' || COALESCE(NEW.name, OLD.name));
        RETURN NULL;
      END $$;

CREATE FUNCTION {schema}.notify_status() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
      BEGIN
        PERFORM pg_notify('{channel}', 'status:' || NEW.workflow_id);
        RETURN NULL;
      END $$;

CREATE FUNCTION {schema}.notify_waiters() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
      BEGIN
        IF TG_TABLE_NAME = 'notifications' THEN
          PERFORM pg_notify('{channel}', 'msg:' || NEW.destination_id);
        ELSIF TG_TABLE_NAME = 'workflow_events' THEN
          PERFORM pg_notify('{channel}', 'evt:' || NEW.workflow_id);
        ELSIF TG_TABLE_NAME = 'streams' THEN
          PERFORM pg_notify('{channel}', 'strm:' || NEW.workflow_id);
        ELSIF TG_TABLE_NAME = 'workflow_status' THEN
          PERFORM pg_notify('{channel}', 'status:' || NEW.workflow_id);
        END IF;
        RETURN NULL;
      END $$;

CREATE TABLE {schema}.debounce (
    workflow_name text NOT NULL,
    debounce_key text NOT NULL,
    workflow_id text
);

CREATE TABLE {schema}.executors (
    executor_id text NOT NULL,
    application_version text NOT NULL,
    hostname text NOT NULL,
    pid integer NOT NULL,
    instance_id text NOT NULL,
    started_at bigint NOT NULL,
    heartbeat_at bigint NOT NULL
);

CREATE TABLE {schema}.message_keys (
    destination_id text NOT NULL,
    idempotency_key text NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE {schema}.migrations (
    id integer NOT NULL,
    "timestamp" bigint NOT NULL,
    name character varying NOT NULL
);

CREATE SEQUENCE {schema}.migrations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE {schema}.migrations_id_seq OWNED BY {schema}.migrations.id;

CREATE TABLE {schema}.notifications (
    message_id text NOT NULL,
    destination_id text NOT NULL,
    topic text NOT NULL,
    message text,
    seq bigint NOT NULL,
    created_at bigint NOT NULL
);

CREATE SEQUENCE {schema}.notifications_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE {schema}.notifications_seq_seq OWNED BY {schema}.notifications.seq;

CREATE TABLE {schema}.operation_outputs (
    workflow_id text NOT NULL,
    step_id integer NOT NULL,
    step_name text NOT NULL,
    output text,
    error text,
    child_workflow_id text,
    started_at bigint,
    completed_at bigint
);

CREATE TABLE {schema}.scheduler_state (
    workflow_name text NOT NULL,
    last_tick bigint,
    buffered_tick bigint,
    skipped_ticks bigint DEFAULT 0 NOT NULL
);

CREATE TABLE {schema}.schedules (
    name text NOT NULL,
    cron text NOT NULL,
    timezone text NOT NULL,
    workflow_name text NOT NULL,
    inputs text NOT NULL,
    queue_name text,
    overlap text DEFAULT 'allow'::text NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    last_tick bigint,
    buffered_tick bigint,
    skipped_ticks bigint DEFAULT 0 NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    CONSTRAINT schedules_overlap_check CHECK ((overlap = ANY (ARRAY['allow'::text, 'skip'::text, 'buffer-one'::text, 'cancel-other'::text])))
);

CREATE TABLE {schema}.step_attempts (
    workflow_id text NOT NULL,
    step_id integer NOT NULL,
    attempt integer NOT NULL,
    started_at bigint NOT NULL,
    ended_at bigint NOT NULL,
    error text NOT NULL
);

CREATE TABLE {schema}.streams (
    workflow_id text NOT NULL,
    key text NOT NULL,
    "offset" integer NOT NULL,
    value text,
    closed boolean DEFAULT false NOT NULL,
    step_id integer
);

CREATE TABLE {schema}.workflow_events (
    workflow_id text NOT NULL,
    key text NOT NULL,
    value text
);

CREATE TABLE {schema}.workflow_events_history (
    workflow_id text NOT NULL,
    step_id integer NOT NULL,
    key text NOT NULL,
    value text
);

CREATE TABLE {schema}.workflow_status (
    workflow_id text NOT NULL,
    status text NOT NULL,
    workflow_name text NOT NULL,
    class_name text,
    inputs text,
    output text,
    error text,
    executor_id text,
    application_version text,
    recovery_attempts integer DEFAULT 0 NOT NULL,
    queue_name text,
    priority integer DEFAULT 0 NOT NULL,
    deduplication_id text,
    partition_key text,
    delay_until bigint,
    timeout_ms bigint,
    deadline bigint,
    parent_workflow_id text,
    forked_from text,
    started_at bigint,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    run_epoch integer DEFAULT 0 NOT NULL,
    cancel_root text,
    announced_epoch integer,
    trace_context text,
    attributes jsonb,
    outcome_watched boolean
);

ALTER TABLE ONLY {schema}.migrations ALTER COLUMN id SET DEFAULT nextval('{schema}.migrations_id_seq'::regclass);

ALTER TABLE ONLY {schema}.notifications ALTER COLUMN seq SET DEFAULT nextval('{schema}.notifications_seq_seq'::regclass);

ALTER TABLE ONLY {schema}.migrations
    ADD CONSTRAINT "PK_8c82d7f526340ab734260ea46be" PRIMARY KEY (id);

ALTER TABLE ONLY {schema}.debounce
    ADD CONSTRAINT debounce_pkey PRIMARY KEY (workflow_name, debounce_key);

ALTER TABLE ONLY {schema}.executors
    ADD CONSTRAINT executors_pkey PRIMARY KEY (executor_id);

ALTER TABLE ONLY {schema}.message_keys
    ADD CONSTRAINT message_keys_pkey PRIMARY KEY (destination_id, idempotency_key);

ALTER TABLE ONLY {schema}.notifications
    ADD CONSTRAINT notifications_pkey PRIMARY KEY (message_id);

ALTER TABLE ONLY {schema}.operation_outputs
    ADD CONSTRAINT operation_outputs_pkey PRIMARY KEY (workflow_id, step_id);

ALTER TABLE ONLY {schema}.scheduler_state
    ADD CONSTRAINT scheduler_state_pkey PRIMARY KEY (workflow_name);

ALTER TABLE ONLY {schema}.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (name);

ALTER TABLE ONLY {schema}.step_attempts
    ADD CONSTRAINT step_attempts_pkey PRIMARY KEY (workflow_id, step_id, attempt);

ALTER TABLE ONLY {schema}.streams
    ADD CONSTRAINT streams_pkey PRIMARY KEY (workflow_id, key, "offset");

ALTER TABLE ONLY {schema}.workflow_events_history
    ADD CONSTRAINT workflow_events_history_pkey PRIMARY KEY (workflow_id, step_id);

ALTER TABLE ONLY {schema}.workflow_events
    ADD CONSTRAINT workflow_events_pkey PRIMARY KEY (workflow_id, key);

ALTER TABLE ONLY {schema}.workflow_status
    ADD CONSTRAINT workflow_status_pkey PRIMARY KEY (workflow_id);

CREATE INDEX debounce_workflow_idx ON {schema}.debounce USING btree (workflow_id);

CREATE INDEX notifications_destination_idx ON {schema}.notifications USING btree (destination_id, topic, seq);

CREATE INDEX workflow_status_attributes_idx ON {schema}.workflow_status USING gin (attributes jsonb_path_ops) WHERE (attributes IS NOT NULL);

CREATE INDEX workflow_status_created_at_idx ON {schema}.workflow_status USING btree (created_at);

CREATE UNIQUE INDEX workflow_status_dedup_idx ON {schema}.workflow_status USING btree (queue_name, deduplication_id) WHERE (deduplication_id IS NOT NULL);

CREATE INDEX workflow_status_executor_created_idx ON {schema}.workflow_status USING btree (executor_id, created_at) WHERE ((executor_id IS NOT NULL) AND (status <> 'PENDING'::text));

CREATE INDEX workflow_status_forked_from_idx ON {schema}.workflow_status USING btree (forked_from) WHERE ((forked_from IS NOT NULL) AND (status <> 'PENDING'::text));

CREATE INDEX workflow_status_id_prefix_idx ON {schema}.workflow_status USING btree (workflow_id text_pattern_ops) WHERE (status <> 'PENDING'::text);

CREATE INDEX workflow_status_name_idx ON {schema}.workflow_status USING btree (workflow_name, created_at);

CREATE INDEX workflow_status_parent_idx ON {schema}.workflow_status USING btree (parent_workflow_id) WHERE (parent_workflow_id IS NOT NULL);

CREATE INDEX workflow_status_pending_created_idx ON {schema}.workflow_status USING btree (created_at) WHERE (status = 'PENDING'::text);

CREATE INDEX workflow_status_queue_created_idx ON {schema}.workflow_status USING btree (queue_name, created_at) WHERE ((queue_name IS NOT NULL) AND (status <> 'PENDING'::text));

CREATE INDEX workflow_status_queue_fifo_idx ON {schema}.workflow_status USING btree (queue_name, created_at) WHERE (status = 'ENQUEUED'::text);

CREATE INDEX workflow_status_queue_idx ON {schema}.workflow_status USING btree (queue_name, priority, created_at) WHERE (status = 'ENQUEUED'::text);

CREATE INDEX workflow_status_queue_running_idx ON {schema}.workflow_status USING btree (queue_name, partition_key) WHERE ((status = 'PENDING'::text) AND (queue_name IS NOT NULL));

CREATE INDEX workflow_status_queue_started_idx ON {schema}.workflow_status USING btree (queue_name, started_at) WHERE (queue_name IS NOT NULL);

CREATE INDEX workflow_status_recovery_idx ON {schema}.workflow_status USING btree (executor_id, application_version) WHERE (status = 'PENDING'::text);

CREATE INDEX workflow_status_status_created_idx ON {schema}.workflow_status USING btree (status, created_at) WHERE (status <> ALL (ARRAY['PENDING'::text, 'SUCCESS'::text]));

CREATE INDEX workflow_status_status_name_created_idx ON {schema}.workflow_status USING btree (status, workflow_name, created_at) WHERE (status <> ALL (ARRAY['PENDING'::text, 'SUCCESS'::text]));

CREATE INDEX workflow_status_updated_at_idx ON {schema}.workflow_status USING btree (updated_at) WHERE (status <> 'PENDING'::text);

CREATE INDEX workflow_status_version_created_idx ON {schema}.workflow_status USING btree (application_version, created_at) WHERE (status <> 'PENDING'::text);

CREATE TRIGGER notifications_notify AFTER INSERT ON {schema}.notifications FOR EACH ROW EXECUTE FUNCTION {schema}.notify_waiters();

CREATE TRIGGER schedules_changed AFTER INSERT OR DELETE OR UPDATE OF cron, timezone, workflow_name, inputs, queue_name, overlap, paused ON {schema}.schedules FOR EACH ROW EXECUTE FUNCTION {schema}.notify_schedule();

CREATE TRIGGER streams_notify AFTER INSERT ON {schema}.streams FOR EACH ROW EXECUTE FUNCTION {schema}.notify_waiters();

CREATE TRIGGER workflow_events_notify AFTER INSERT OR UPDATE ON {schema}.workflow_events FOR EACH ROW EXECUTE FUNCTION {schema}.notify_waiters();

CREATE TRIGGER workflow_status_enqueued AFTER INSERT ON {schema}.workflow_status FOR EACH ROW WHEN (((new.status = 'ENQUEUED'::text) AND (new.queue_name IS NOT NULL))) EXECUTE FUNCTION {schema}.notify_queue();

CREATE TRIGGER workflow_status_finished AFTER UPDATE OF status ON {schema}.workflow_status FOR EACH ROW WHEN (((new.status IS DISTINCT FROM old.status) AND (new.status <> ALL (ARRAY['PENDING'::text, 'ENQUEUED'::text])) AND (NOT ((new.status = ANY (ARRAY['SUCCESS'::text, 'ERROR'::text])) AND (NOT (new.announced_epoch IS DISTINCT FROM new.run_epoch)))))) EXECUTE FUNCTION {schema}.notify_status();

CREATE TRIGGER workflow_status_queue_changed AFTER UPDATE OF status ON {schema}.workflow_status FOR EACH ROW WHEN (((new.queue_name IS NOT NULL) AND (new.status IS DISTINCT FROM old.status) AND ((old.status = 'PENDING'::text) OR (new.status = 'ENQUEUED'::text)) AND (NOT ((new.status = ANY (ARRAY['SUCCESS'::text, 'ERROR'::text])) AND (NOT (new.announced_epoch IS DISTINCT FROM new.run_epoch)))))) EXECUTE FUNCTION {schema}.notify_queue();

ALTER TABLE ONLY {schema}.debounce
    ADD CONSTRAINT debounce_workflow_id_fkey FOREIGN KEY (workflow_id) REFERENCES {schema}.workflow_status(workflow_id) ON DELETE CASCADE;

ALTER TABLE ONLY {schema}.step_attempts
    ADD CONSTRAINT step_attempts_workflow_id_fkey FOREIGN KEY (workflow_id) REFERENCES {schema}.workflow_status(workflow_id) ON DELETE CASCADE;
