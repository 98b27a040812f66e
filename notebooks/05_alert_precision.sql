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
    SELECT
        key,
        any(detector) AS detector,
        max(to_status = 'escalated') AS was_escalated,
        max(early) AS was_early,
        max(reason = 'retracted') AS was_retracted,
        max(to_status = 'resolved') AS was_resolved,
        (toUInt32(toDateTime(maxIf(event_time, to_status = 'resolved')))
            - toUInt32(toDateTime(min(event_time)))) / 60 AS minutes_open,
        min(event_time) AS opened
    FROM alert_events FINAL
    GROUP BY key
) AS a
ANY LEFT JOIN
(
    SELECT key, verdict
    FROM alert_reviews FINAL
) AS r USING (key)
WHERE opened >= since
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
