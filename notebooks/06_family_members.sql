-- A family's spellings over time
--
-- Abusers spread one challenge under many spellings (#blackoutchallenge,
-- #bl4ckoutchallenge, #bIackoutchallenge, Cyrillic look-alikes, ब्लैकआउटचैलेंज)
-- so that no single one trends. trendwatch counts them together as one term,
-- family:<key>, and writes every hashtag's row with the family it counts into
-- (the family column). Which spellings carry the family, and since when?
-- Set the family as its full key ("family:blakautchalenj"); an alert on a
-- family names it, and so does the family column of any of its hashtags.

-- 1. Minute by minute over the last three hours: each spelling's mentions and
--    its share of the family's posts that minute (the family: row's mentions,
--    which count each post once), the share an alert on the family names. A
--    post tagged with two spellings counts in both, so shares can add up to
--    more than 1; NULL: no family row that minute. A new spelling taking the
--    share over is the push moving to evade a block on the old one.
SELECT
    bucket AS minute,
    term AS spelling,
    mentions AS spelling_mentions,
    family_mentions,
    if(family_mentions = 0, NULL, round(mentions / family_mentions, 2)) AS share,
    unique_creators AS spelling_creators
FROM term_history
ANY LEFT JOIN
(
    WITH
        'family:blakautchalenj' AS the_family,
        toStartOfMinute(now()) - INTERVAL 3 HOUR AS since
    SELECT bucket, mentions AS family_mentions
    FROM term_history
    WHERE term = the_family AND bucket >= since
) AS family_minutes USING bucket
WHERE family = 'family:blakautchalenj'
  AND kind = 'hashtag'
  AND bucket >= toStartOfMinute(now()) - INTERVAL 3 HOUR
ORDER BY minute, spelling_mentions DESC;

-- 2. Over the last day, per spelling: when it was first and last seen, its
--    mentions and creators, so the team can block or label every spelling in
--    one go.
WITH
    'family:blakautchalenj' AS the_family,
    now() - INTERVAL 1 DAY AS since
SELECT
    term AS spelling,
    min(bucket) AS first_seen,
    max(bucket) AS last_seen,
    sum(mentions) AS total_mentions,
    max(unique_creators) AS peak_unique_creators,
    sum(reports) AS total_reports,
    count() AS minutes_seen
FROM term_history
WHERE family = the_family AND kind = 'hashtag' AND bucket >= since
GROUP BY term
ORDER BY total_mentions DESC;
