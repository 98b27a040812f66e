-- A term's history against its baseline
--
-- Is this term unusual, or is it always like this at this time of day? Minute
-- by minute: its mentions, the mean of the hour before each minute, and the
-- same minute yesterday.
--
-- Run against the trendwatch database, e.g.
--   clickhouse-client -d trendwatch --multiquery < notebooks/02_term_vs_baseline.sql
-- Set the term as its full key, kind:value ("hashtag:fyp", "sound:7712",
-- "challenge:c123"); hashtags are stored normalised (lower case, no '#').

-- 1. Minute by minute over the last three hours; the parameters are in the
--    inner WITH. Each stored minute is fanned out with ARRAY JOIN to the
--    minutes it is evidence for: itself ("now"), each of the 60 minutes after
--    it (their rolling baseline) and the same minute a day later ("day_ago").
--    One scan, and no window functions, which 18.16 lacks.
--    vs_baseline = (mentions + 1) / (baseline_per_minute + 1).
SELECT
    minute,
    sumIf(m, role = 'now') AS mentions,
    round(sumIf(m, role = 'baseline') / 60, 2) AS baseline_per_minute,
    round((mentions + 1) / (baseline_per_minute + 1), 2) AS vs_baseline,
    sumIf(m, role = 'day_ago') AS day_ago_mentions,
    maxIf(uc, role = 'now') AS unique_creators,
    sumIf(r, role = 'now') AS reports
FROM
(
    WITH
        'hashtag:blackoutchallenge' AS the_term,             -- the term to review
        toStartOfMinute(now()) - INTERVAL 3 HOUR AS since    -- first minute shown
    SELECT
        tupleElement(evidence, 1) AS minute,
        tupleElement(evidence, 2) AS role,
        mentions AS m,
        unique_creators AS uc,
        reports AS r
    FROM term_history
    ARRAY JOIN arrayConcat(
        [(bucket, 'now')],
        arrayMap(i -> (bucket + (i + 1) * 60, 'baseline'), range(60)),
        [(bucket + 86400, 'day_ago')]
    ) AS evidence
    WHERE term = the_term
      AND bucket >= since - INTERVAL 1 DAY
      AND minute >= since
      AND minute < toStartOfMinute(now())  -- the minute in progress is not closed yet
)
GROUP BY minute
ORDER BY minute;

-- 2. Hour by hour over the last day: the shape of the day, who is posting and
--    whether reports follow. mentions_per_creator is the mean over the hour's
--    minutes of mentions / unique creators; 1 is organic, much more is a few
--    accounts posting a lot (see 04_coordinated_pushes.sql).
WITH
    'hashtag:blackoutchallenge' AS the_term,
    now() - INTERVAL 1 DAY AS since
SELECT
    toStartOfHour(bucket) AS hour,
    sum(mentions) AS total_mentions,
    max(unique_creators) AS peak_unique_creators,
    round(avg(mentions_per_creator), 2) AS avg_mentions_per_creator,
    sum(reports) AS total_reports,
    round(if(total_mentions = 0, 0, total_reports / total_mentions), 4) AS hour_report_rate,
    arraySort(groupUniqArrayArray(top_regions)) AS regions,
    count() AS minutes_seen
FROM term_history
WHERE term = the_term AND bucket >= since
GROUP BY hour
ORDER BY hour;
