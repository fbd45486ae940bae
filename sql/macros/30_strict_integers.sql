-- Strict integer parsing for raw text fields. DuckDB's cast from text is lenient: '1.5' becomes
-- 2, '0x10' becomes 16, ' 7' becomes 7. A flow log never writes those, so a field that is not
-- plain decimal digits is not a number here (NULL), and the model quarantines its record with a
-- reason instead of publishing a rounded or reinterpreted value.
--
--   digits_to_bigint(txt)   BIGINT for 1 to 18 decimal digits (with an optional leading '-'), else NULL
CREATE OR REPLACE MACRO digits_to_bigint(txt) AS
    CASE WHEN regexp_full_match(txt, '-?[0-9]{1,18}') THEN CAST(txt AS BIGINT) END;

-- The timestamp of a Unix time in seconds within the years 2000-2100 (the range every model
-- accepts), else NULL: `make_timestamp(s * 1000000)` of any BIGINT a damaged record carries
-- overflows and fails the whole model, where the record only has to be quarantined.
--
--   unix_seconds_to_timestamp(s)   TIMESTAMP, or NULL outside 946684800-4102444800
--   unix_millis_to_timestamp(ms)   the same for milliseconds (Azure VNet flow tuples)
CREATE OR REPLACE MACRO unix_seconds_to_timestamp(s) AS
    CASE WHEN s BETWEEN 946684800 AND 4102444800 THEN make_timestamp(s * 1000000) END;

CREATE OR REPLACE MACRO unix_millis_to_timestamp(ms) AS
    CASE WHEN ms BETWEEN 946684800000 AND 4102444800000 THEN make_timestamp(ms * 1000) END;
