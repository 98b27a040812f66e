-- Coordinated pushes
--
-- Organic trends grow by many people posting once; pushes grow by few
-- accounts posting a lot, often on a term nobody used the day before.
--
-- Run against the trendwatch database, e.g.
--   clickhouse-client -d trendwatch --multiquery < notebooks/04_coordinated_pushes.sql

-- 1. Terms whose mentions come from few creators, last hour. mentions_per_creator
--    is per minute (mentions / unique creators in that minute), so it is not
--    inflated by the same creator posting in many minutes. platform_median is
--    the median of the same ratio over all busy term-minutes of the hour: the
--    platform's "normal" for comparison. It leaves family rows out: a family
--    minute repeats the posts of its spellings' minutes, which would count
--    twice.
WITH
    now() - INTERVAL 1 HOUR AS since,
    30 AS min_mentions,          -- ignore terms quieter than this in the hour
    (   -- 18.16 does not pass WITH aliases into subqueries: keep this window equal to since
        SELECT median(mentions_per_creator)
        FROM term_history
        WHERE bucket >= now() - INTERVAL 1 HOUR AND mentions >= 5 AND kind != 'family'
    ) AS platform_median
SELECT
    term,
    sum(mentions) AS total_mentions,
    max(unique_creators) AS peak_unique_creators,
    round(avg(mentions_per_creator), 2) AS avg_mentions_per_creator,
    round(max(mentions_per_creator), 2) AS worst_minute,
    platform_median,
    round(avg(mentions_per_creator) / greatest(platform_median, 1), 2) AS vs_platform,
    count() AS minutes_active,
    arraySort(groupUniqArrayArray(top_regions)) AS regions
FROM term_history
WHERE bucket >= since
GROUP BY term
HAVING total_mentions >= min_mentions
ORDER BY vs_platform DESC, total_mentions DESC, term
LIMIT 50;

-- 2. New and concentrated: terms with mentions in the last hour and none in the
--    day before it, ordered by how few creators carry them.
WITH
    now() - INTERVAL 1 HOUR AS recent_start,
    recent_start - INTERVAL 1 DAY AS history_start
SELECT
    term,
    sumIf(mentions, bucket >= recent_start) AS recent_mentions,
    maxIf(unique_creators, bucket >= recent_start) AS peak_unique_creators,
    round(recent_mentions / greatest(peak_unique_creators, 1), 2) AS mentions_per_peak_creator,
    minIf(bucket, bucket >= recent_start) AS first_seen,
    sumIf(reports, bucket >= recent_start) AS recent_reports
FROM term_history
WHERE bucket >= history_start
GROUP BY term
HAVING recent_mentions > 0 AND sumIf(mentions, bucket < recent_start) = 0
ORDER BY mentions_per_peak_creator DESC, recent_mentions DESC, term
LIMIT 50;

-- 3. What the coordination detector said, newest first, with the evidence it
--    saw. Compare with query 1: a term high there with no alert here is a miss
--    to raise with the detector's owners.
WITH now() - INTERVAL 1 DAY AS since
SELECT
    updated_at,
    term,
    status,
    severity,
    round(score, 2) AS score,
    observed,
    unique_creators,
    round(observed / greatest(unique_creators, 1), 2) AS mentions_per_creator,
    top_regions,
    sample_content_ids,
    summary
FROM alerts FINAL
WHERE detector = 'coordination' AND updated_at >= since
ORDER BY updated_at DESC, term
LIMIT 100;
