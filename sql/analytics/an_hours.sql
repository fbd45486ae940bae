-- grain: one row per event hour that has published flows in the loaded window
-- keys: hour_at
-- upstream: an_flows
-- materialized: table
-- tests: not_null(hour_at); unique(hour_at)
select distinct hour_at from an_flows
