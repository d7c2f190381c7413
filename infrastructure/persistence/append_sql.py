"""The SQL of ``cc_append_v1`` (migration 4), the function every append calls: one round
trip per group of appends (see :class:`infrastructure.persistence.recorder.IndexingRecorder`).
"""

from __future__ import annotations

GUARD_MESSAGE = "cc_append: environment moved"

#: One round trip per append of a group of requests. Holds what eventsourcing's own
#: recorder guarantees: the EXCLUSIVE table lock (positions gap-free in commit order),
#: the NOTIFY, and our index rows in the same transaction; named per schema, so
#: applications never share it. One instant per transaction (an as-of read sees all of
#: a multi-entry write or none of it), never before an earlier transaction's even if the
#: clock steps back. The usual case appends everything at once; if a version is taken
#: (in the table, or by an earlier request of the group), that attempt is rolled back and
#: the requests with taken versions are left out, each failing alone.
APPEND_FUNCTION = (
    "CREATE OR REPLACE FUNCTION {s}.cc_append_v1("
    " p_reqs int[], p_ids uuid[], p_versions bigint[], p_topics text[], p_states bytea[],"
    " p_envs text[], p_areas text[], p_keys text[], p_types text[],"
    " p_guard_env text, p_guard_position bigint) RETURNS TABLE (o_req int, o_position bigint)"
    # The plan cached for the session may be made while the tables are small: the lateral
    # lookup and sequential scans off keep it probing the primary key per event instead
    # of scanning (or hashing) a table that has grown since.
    " LANGUAGE plpgsql SET enable_seqscan = off AS $fn$"
    " DECLARE v_now timestamptz; v_positions bigint[];"
    " BEGIN"
    "  PERFORM set_config('lock_timeout', '10s', true);"
    "  LOCK TABLE {s}.conduitconfig_events IN EXCLUSIVE MODE;"
    "  IF p_guard_env IS NOT NULL AND EXISTS (SELECT 1 FROM {s}.cc_event_index"
    "   WHERE environment = p_guard_env AND position > p_guard_position) THEN"
    "   RAISE EXCEPTION 'cc_append: environment moved';"
    "  END IF;"
    "  v_now := GREATEST(clock_timestamp(), (SELECT MAX(recorded_at) FROM {s}.cc_event_index));"
    "  PERFORM pg_notify('conduitconfig_events', '');"
    "  BEGIN"
    "   WITH ins AS ("
    "    INSERT INTO {s}.conduitconfig_events (originator_id, originator_version, topic, state)"
    "    SELECT u.i, u.v, u.t, u.st FROM unnest(p_ids, p_versions, p_topics, p_states)"
    "     WITH ORDINALITY AS u(i, v, t, st, n) ORDER BY u.n"
    "    RETURNING notification_id, originator_id, originator_version"
    "   ), idx AS ("
    "    INSERT INTO {s}.cc_event_index (position, entry_id, version, recorded_at,"
    "     environment, area, key, event_type)"
    "    SELECT ins.notification_id, ins.originator_id, ins.originator_version, v_now,"
    "     a.en, a.ar, a.k, a.ty"
    "    FROM ins JOIN unnest(p_ids, p_versions, p_envs, p_areas, p_keys, p_types)"
    "     AS a(i, v, en, ar, k, ty) ON a.i = ins.originator_id AND a.v = ins.originator_version"
    "    WHERE a.en IS NOT NULL"
    "   ) SELECT array_agg(ins.notification_id ORDER BY ins.notification_id)"
    "    INTO v_positions FROM ins;"
    "   RETURN QUERY SELECT * FROM unnest(p_reqs, v_positions);"
    "  EXCEPTION WHEN unique_violation THEN"
    "   RETURN QUERY WITH ev AS ("
    "    SELECT * FROM unnest(p_reqs, p_ids, p_versions, p_topics, p_states, p_envs, p_areas,"
    "     p_keys, p_types) WITH ORDINALITY AS u(r, i, v, t, st, en, ar, k, ty, n)"
    "   ), bad AS ("
    "    SELECT ev.r FROM ev CROSS JOIN LATERAL (SELECT 1 FROM {s}.conduitconfig_events e"
    "     WHERE e.originator_id = ev.i AND e.originator_version = ev.v LIMIT 1) AS taken"
    "    UNION SELECT b.r FROM ev a JOIN ev b ON a.i = b.i AND a.v = b.v"
    "     AND (a.r < b.r OR (a.r = b.r AND a.n < b.n))"
    "   ), good AS (SELECT * FROM ev WHERE ev.r NOT IN (SELECT bad.r FROM bad)), ins AS ("
    "    INSERT INTO {s}.conduitconfig_events (originator_id, originator_version, topic, state)"
    "    SELECT good.i, good.v, good.t, good.st FROM good ORDER BY good.n"
    "    RETURNING notification_id, originator_id, originator_version"
    "   ), idx AS ("
    "    INSERT INTO {s}.cc_event_index (position, entry_id, version, recorded_at,"
    "     environment, area, key, event_type)"
    "    SELECT ins.notification_id, ins.originator_id, ins.originator_version, v_now,"
    "     good.en, good.ar, good.k, good.ty"
    "    FROM ins JOIN good ON good.i = ins.originator_id AND good.v = ins.originator_version"
    "    WHERE good.en IS NOT NULL"
    "   ) SELECT good.r, ins.notification_id FROM ins"
    "    JOIN good ON good.i = ins.originator_id AND good.v = ins.originator_version"
    "    ORDER BY ins.notification_id;"
    "  END;"
    " END $fn$"
)
