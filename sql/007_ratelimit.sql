-- API rate limits, shared by every worker and every instance through the
-- rate_counters table of 001: fixed one-minute windows per bucket.
--
-- api_rate() counts one request against a bucket (the user, or the client
-- address when signed out) and, for sign-in routes, against a stricter
-- per-address bucket too, and says how long the current window lasts.

CREATE FUNCTION api_rate(p_bucket text, p_auth_bucket text, p_window integer)
RETURNS TABLE (hits integer, auth_hits integer, retry_after integer)
LANGUAGE sql AS $$
	SELECT rate_hit(p_bucket, p_window),
	    CASE WHEN p_auth_bucket IS NULL THEN 0
	        ELSE rate_hit(p_auth_bucket, p_window) END,
	    greatest(1, ceil(p_window - mod(extract(epoch FROM now())::numeric,
	        p_window)))::integer;
$$;
