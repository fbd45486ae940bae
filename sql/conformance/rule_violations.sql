-- grain: one row per (flow, rule) a flow of the event hour violates
-- keys: flow_id, rule_id
-- upstream: flows
-- materialized: table
-- tests: not_null(flow_id, rule_id)
--
-- The flows mart (generated from the rules file: lib/rules/compile-rules.ts, compileFlowsMart)
-- checks every rule in its one scan of flows_enriched and is written once, as the Parquet file
-- the job publishes. The violating flows are read back from that file with only the columns the
-- violations and alerts read: the enrichment joins do not run again.
select
    flow_id,
    source_type,
    raw_object_key,
    raw_offset,
    start_at,
    end_at,
    src_ip,
    src_port,
    dst_ip,
    dst_port,
    protocol,
    action,
    packets,
    bytes,
    src_vm_id,
    dst_vm_id,
    src_segment,
    dst_segment,
    src_threat_lists,
    dst_threat_lists,
    counts_in_totals,
    counted_flow_id,
    observed_by,
    unnest(violated_rule_ids) as rule_id
from flows
where verdict = 'non_conformant'
