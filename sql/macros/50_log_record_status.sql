-- The status of a flow log record that states its own (AWS VPC Flow Logs `log-status`, OCI VCN
-- flow logs `status`: OK, NODATA or SKIPDATA), shared by their normalize models:
--
--   log_record_status(record_error, log_status, field_error)   'invalid', 'nodata', 'skipdata' or 'flow'
--   log_record_reason(record_error, log_status, field_error)   why the record is quarantined, else NULL
--
-- record_error refuses the record whatever its status (a wrong field count, an unknown version);
-- a NODATA or SKIPDATA record carries no flow, so its empty fields are no fault; an OK record is
-- refused for any field_error.

CREATE OR REPLACE MACRO log_record_status(record_error, log_status, field_error) AS
    CASE
        WHEN record_error IS NOT NULL THEN 'invalid'
        WHEN log_status = 'NODATA' THEN 'nodata'
        WHEN log_status = 'SKIPDATA' THEN 'skipdata'
        WHEN field_error IS NOT NULL THEN 'invalid'
        ELSE 'flow'
    END;

CREATE OR REPLACE MACRO log_record_reason(record_error, log_status, field_error) AS
    coalesce(record_error, CASE WHEN log_status = 'OK' THEN field_error END);
