-- The OpenAPI document exactly as the discovery engine wrote it.
--
-- The jsonb column keeps the document queryable (titles, paths, the
-- differences between versions) but orders an object's keys its own way,
-- so what users read and download ("openapi", "info", "paths"... in the
-- engine's order, byte for byte) is kept as text beside it.

ALTER TABLE documentation ADD COLUMN openapi_source text;

-- docs_publish() with the document as text, kept in both columns in the
-- same transaction.
CREATE FUNCTION docs_publish_source(p_job bigint, p_attempt integer,
    p_worker text, p_endpoint uuid, p_openapi text, p_markdown text,
    p_ms integer, p_calls bigint, p_ai text, p_model text, p_ai_note text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	v	integer;
BEGIN
	v := docs_publish(p_job, p_attempt, p_worker, p_endpoint,
	    p_openapi::jsonb, p_markdown, p_ms, p_calls, p_ai, p_model,
	    p_ai_note);
	UPDATE documentation SET openapi_source = p_openapi
	WHERE endpoint_id = p_endpoint AND version = v;
	RETURN v;
END $$;
