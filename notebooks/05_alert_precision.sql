-- Alert precision review
--
-- How often is each detector right? Precision needs a person's verdict, kept in
-- alert_reviews (one row per alert key; the latest review wins). Record one
-- with `trendwatch verdict`, for example:
--
--   trendwatch verdict 'surge|hashtag:blackoutchallenge' true_positive \
--       --note 'dangerous challenge, escalated to policy' --reviewer asha
--
-- or in SQL:
--
--   INSERT INTO alert_reviews (key, verdict, reviewer, note)
--   VALUES ('surge|hashtag:blackoutchallenge', 'true_positive', 'asha', 'dangerous challenge, escalated to policy');
--
-- Verdicts: 'true_positive', 'false_positive', 'unsure'.
--
-- Run against the trendwatch database, e.g.
--   clickhouse-client -d trendwatch --multiquery < notebooks/05_alert_precision.sql

-- 1. Per detector, alerts opened in the last 7 days: how many escalated, how
--    many opened early (on a bucket still open, detectors.early) and how many
--    of those the final judgement retracted, how many resolved within 10
--    minutes of opening (likely flapping), median minutes to resolve, and
--    precision over the reviewed ones (true_positive / (true_positive +
--    false_positive); NULL when none).
--    An alert is one opening: a key that resolved and opened again is two
--    alerts, each timed from its own open to its own resolve, and one open
--    again now is not resolved. A verdict is on a key; it counts for the
--    opening under way when it was given (the first, if given before any), as
--    on the pages of trendwatch review, and the key's other openings count as
--    unreviewed.
WITH now() - INTERVAL 7 DAY AS since
SELECT
    detector,
    count() AS alerts,
    sum(was_escalated) AS escalated,
    sum(was_early) AS opened_early,
    sum(was_retracted) AS retracted,
    sum(was_resolved) AS resolved,
    countIf(was_resolved AND minutes_open <= 10) AS resolved_within_10m,
    round(medianIf(minutes_open, was_resolved), 1) AS median_minutes_to_resolve,
    countIf(verdict = 'true_positive') AS true_positives,
    countIf(verdict = 'false_positive') AS false_positives,
    countIf(verdict = '') AS unreviewed,
    if(true_positives + false_positives = 0, NULL,
       round(true_positives / (true_positives + false_positives), 3)) AS review_precision
FROM
(
    -- One row per opening: the key's transitions from an open up to its next
    -- open (or from its first transition, when older ones have expired).
    SELECT
        detector,
        starts[opening] AS run_start,
        if(opening < length(starts), starts[opening + 1], length(transitions) + 1) AS run_end,
        arraySlice(transitions, run_start, run_end - run_start) AS run,
        run[1].2 AS opened,
        arrayExists(x -> x.4, run) AS was_escalated,
        arrayExists(x -> x.6, run) AS was_early,
        arrayExists(x -> x.7, run) AS was_retracted,
        arrayFirstIndex(x -> x.5, run) AS resolving,
        resolving > 0 AS was_resolved,
        if(was_resolved, (run[resolving].2 - opened) / 60, 0) AS minutes_open,
        if((opening = 1 OR reviewed >= opened) AND (run_end > length(transitions) OR reviewed < transitions[run_end].2),
           key_verdict, '') AS verdict
    FROM
    (
        SELECT
            detector,
            transitions,
            arrayFilter((i, x) -> i = 1 OR x.3, arrayEnumerate(transitions), transitions) AS starts,
            key_verdict,
            toUInt32(reviewed_at) AS reviewed
        FROM
        (
            -- Per key, its transitions in order: (seq, time, opened,
            -- escalated, resolved, early, retracted).
            SELECT
                key,
                any(detector) AS detector,
                arraySort(x -> x.1, groupArray((seq, toUInt32(toDateTime(event_time)), to_status = 'open',
                    to_status = 'escalated', to_status = 'resolved', early, reason = 'retracted'))) AS transitions
            FROM alert_events FINAL
            GROUP BY key
        ) AS k
        ANY LEFT JOIN
        (
            SELECT key, verdict AS key_verdict, reviewed_at
            FROM alert_reviews FINAL
        ) AS r USING (key)
    )
    ARRAY JOIN arrayEnumerate(starts) AS opening
)
WHERE opened >= toUInt32(since)
GROUP BY detector
ORDER BY detector;

-- 2. The review queue: alerts of the last 7 days without a verdict, most severe
--    and most recent first.
WITH now() - INTERVAL 7 DAY AS since
SELECT
    key,
    detector,
    term,
    status,
    severity,
    opened_at,
    resolved_at,
    round(score, 2) AS score,
    summary
FROM
(
    SELECT *
    FROM alerts FINAL
) AS a
ANY LEFT JOIN
(
    SELECT key, verdict
    FROM alert_reviews FINAL
) AS r USING (key)
WHERE verdict = '' AND opened_at >= since
ORDER BY severity_level DESC, opened_at DESC, key
LIMIT 200;
