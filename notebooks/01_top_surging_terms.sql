-- Top surging terms in a window
--
-- Which terms are growing fastest right now, measured against their own recent
-- past rather than against each other, and is a detector already on them?
--
-- Run against the trendwatch database, e.g.
--   clickhouse-client -d trendwatch --multiquery < notebooks/01_top_surging_terms.sql
-- Each query starts with a WITH block of parameters; edit them there. Every
-- parameter sits in the top-level WITH because 18.16 does not pass WITH
-- aliases into subqueries. term_history already resolves rewritten buckets
-- (retries, replays, late events), so nothing here double-counts.

-- 1. Fastest-growing terms in the window, with the detectors that have an open
--    alert on each. A surging term with no open alert is the one to look at.
--    growth = (window per-minute rate + 1) / (baseline per-minute rate + 1):
--    the +1 keeps a term going from 0 to 2 a minute from outranking one going
--    from 1,000 to 5,000. Minutes in which a term was not tracked count as 0.
WITH
    toStartOfMinute(now()) - INTERVAL 30 MINUTE AS window_start,  -- start of the window under review
    toStartOfMinute(now()) AS window_end,              -- end (exclusive): the minute in progress is not closed yet
    window_start - INTERVAL 6 HOUR AS baseline_start,  -- how far back "normal" goes
    20 AS min_mentions                                 -- ignore terms quieter than this in the window
SELECT
    term,
    sumIf(mentions, bucket >= window_start) AS window_mentions,
    round(window_mentions / ((toUInt32(window_end) - toUInt32(window_start)) / 60), 2) AS window_per_minute,
    round(sumIf(mentions, bucket < window_start) / ((toUInt32(window_start) - toUInt32(baseline_start)) / 60), 2) AS baseline_per_minute,
    round((window_per_minute + 1) / (baseline_per_minute + 1), 2) AS growth,
    -- unique creators are per minute and cannot be summed; the peak minute is
    -- a lower bound on the window's creators
    maxIf(unique_creators, bucket >= window_start) AS peak_unique_creators,
    sumIf(reports, bucket >= window_start) AS window_reports,
    round(if(window_mentions = 0, 0, window_reports / window_mentions), 4) AS window_report_rate,
    argMaxIf(top_regions, bucket, bucket >= window_start) AS latest_top_regions,
    arraySort(any(open_alert_detectors)) AS open_alerts
FROM term_history
ANY LEFT JOIN
(
    SELECT
        term,
        groupUniqArray(detector) AS open_alert_detectors
    FROM alerts FINAL
    WHERE status != 'resolved'
    GROUP BY term
) AS a USING (term)
WHERE bucket >= baseline_start AND bucket < window_end
GROUP BY term
HAVING window_mentions >= min_mentions
ORDER BY growth DESC, window_mentions DESC, term
LIMIT 50;

-- 2. Where is it spreading? Regions that lead a term's mentions in the window
--    but never did in the baseline. top_regions holds the few regions with the
--    most mentions in each minute, most first.
WITH
    toStartOfMinute(now()) - INTERVAL 30 MINUTE AS window_start,
    toStartOfMinute(now()) AS window_end,
    window_start - INTERVAL 6 HOUR AS baseline_start
SELECT
    term,
    arraySort(groupUniqArrayIf(region, bucket >= window_start)) AS window_regions,
    arraySort(groupUniqArrayIf(region, bucket < window_start)) AS baseline_regions,
    arrayFilter(r -> NOT has(baseline_regions, r), window_regions) AS new_regions,
    sumIf(mentions, bucket >= window_start) AS window_mentions
FROM term_history
ARRAY JOIN top_regions AS region
WHERE bucket >= baseline_start AND bucket < window_end
GROUP BY term
HAVING length(new_regions) > 0
ORDER BY length(new_regions) DESC, window_mentions DESC, term
LIMIT 50;
