-- grain: one row per alert of the run: a rule_alerts row or a late_data_alerts row
-- keys: alert_id
-- upstream: rule_alerts, late_data_alerts
-- materialized: table
-- tests: not_null(alert_id, rule_id, severity, flow_count, sample_flows); unique(alert_id)
--
-- The published alerts table: the alerts of each grain, side by side (columns matched by name).
select * from rule_alerts
union all by name
select * from late_data_alerts
