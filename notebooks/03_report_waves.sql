-- Report waves by reason and region
--
-- Are users suddenly reporting one kind of harm in one place? Reports are
-- counted on the terms of the reported content, per minute.
--
-- Run against the trendwatch database, e.g.
--   clickhouse-client -d trendwatch --multiquery < notebooks/03_report_waves.sql
--
-- trend_minute keeps, per term and minute, the report reasons most reported
-- first (report_reasons) and the regions with the most mentions first
-- (top_regions), not per-reason counts. A term-minute's reports are therefore
-- attributed to its leading reason and its leading region: spreading them over
-- every listed reason would count each report several times.
--
-- A report is counted on every term of the reported post: each of its
-- hashtags, its challenge, its sound, and the family its hashtags spell
-- (family rows repeat their spellings' counts). Summed over terms, a report
-- on a post with five terms counts five times. Queries 1 and 2 therefore
-- leave family rows out and, minute by minute, take the reports of the
-- most-reported term of each reason and region: reports_at_least counts no
-- report twice, and is a lower bound where other terms' reports came from
-- other posts. term_reports in query 1 is the plain sum over terms, an upper
-- bound that counts a report once per term of its post.

-- 1. Reports per 10 minutes by leading reason and region, last 6 hours.
SELECT
    toDateTime(intDiv(toUInt32(minute), 600) * 600, 'UTC') AS ten_minutes,
    reason,
    region,
    sum(top_term_reports) AS reports_at_least,
    sum(all_term_reports) AS term_reports,
    length(groupUniqArrayArray(minute_terms)) AS terms,
    arraySlice(arraySort(groupUniqArrayArray(minute_terms)), 1, 5) AS some_terms
FROM
(
    WITH
        now() - INTERVAL 6 HOUR AS since,
        if(empty(report_reasons), 'unknown', report_reasons[1]) AS reason,
        if(empty(top_regions), 'unknown', top_regions[1]) AS region
    SELECT
        bucket AS minute,
        reason,
        region,
        max(reports) AS top_term_reports,
        sum(reports) AS all_term_reports,
        groupUniqArray(term) AS minute_terms
    FROM term_history
    WHERE bucket >= since AND reports > 0 AND kind != 'family'
    GROUP BY minute, reason, region
)
GROUP BY ten_minutes, reason, region
ORDER BY ten_minutes DESC, reports_at_least DESC, reason, region;

-- 2. Waves: reason and region pairs whose last 30 minutes carry far more
--    reports than their average 30 minutes over the 6 hours before, counted
--    as reports_at_least is in query 1.
--    surge = (recent + 1) / (baseline per 30 minutes + 1).
WITH now() - INTERVAL 30 MINUTE AS recent_start
SELECT
    reason,
    region,
    sumIf(top_term_reports, minute >= recent_start) AS recent_reports,
    round(sumIf(top_term_reports, minute < recent_start) / 12, 2) AS baseline_per_30m,
    round((recent_reports + 1) / (baseline_per_30m + 1), 2) AS surge,
    maxIf(top_term_reporters, minute >= recent_start) AS peak_unique_reporters,
    arraySlice(arraySort(groupUniqArrayArrayIf(minute_terms, minute >= recent_start)), 1, 10) AS terms
FROM
(
    WITH
        now() - INTERVAL 30 MINUTE - INTERVAL 6 HOUR AS baseline_start,  -- 18.16 does not pass WITH aliases into subqueries: keep it recent_start less 6 hours
        if(empty(report_reasons), 'unknown', report_reasons[1]) AS reason,
        if(empty(top_regions), 'unknown', top_regions[1]) AS region
    SELECT
        bucket AS minute,
        reason,
        region,
        max(reports) AS top_term_reports,
        max(unique_reporters) AS top_term_reporters,
        groupUniqArray(term) AS minute_terms
    FROM term_history
    WHERE bucket >= baseline_start AND reports > 0 AND kind != 'family'
    GROUP BY minute, reason, region
)
GROUP BY reason, region
HAVING recent_reports > 0
ORDER BY surge DESC, recent_reports DESC, reason, region;

-- 3. The terms behind one wave: set the reason (and region, or '' for all)
--    from query 2.
WITH
    'dangerous_acts' AS the_reason,
    '' AS the_region,
    now() - INTERVAL 30 MINUTE AS recent_start
SELECT
    term,
    sum(reports) AS total_reports,
    sum(mentions) AS total_mentions,
    round(if(total_mentions = 0, 0, total_reports / total_mentions), 4) AS window_report_rate,
    max(unique_reporters) AS peak_unique_reporters,
    arraySort(groupUniqArrayArray(report_reasons)) AS reasons,
    arraySort(groupUniqArrayArray(top_regions)) AS regions
FROM term_history
WHERE bucket >= recent_start
  AND has(report_reasons, the_reason)
  AND (the_region = '' OR has(top_regions, the_region))
GROUP BY term
ORDER BY total_reports DESC, term
LIMIT 50;

-- 4. Which terms are reported by whom: reports per channel, last 6 hours, the
--    terms with most reports from outside the app first. One report from a
--    regulator, law enforcement or a partner pages on its own (trusted_report);
--    from_user is what the other channels leave of reports.
WITH
    now() - INTERVAL 6 HOUR AS since
SELECT
    term,
    sum(reports) AS total_reports,
    sum(reports_user) AS from_user,
    sum(reports_partner) AS from_partner,
    sum(reports_regulator) AS from_regulator,
    sum(reports_law_enforcement) AS from_law_enforcement,
    sum(reports_media) AS from_media,
    sum(reports_internal) AS from_internal,
    total_reports - from_user AS from_outside
FROM term_history
WHERE bucket >= since AND reports > 0
GROUP BY term
ORDER BY from_outside DESC, total_reports DESC, term
LIMIT 50;
