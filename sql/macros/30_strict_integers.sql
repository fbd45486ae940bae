-- Strict integer parsing for raw text fields. DuckDB's cast from text is lenient: '1.5' becomes
-- 2, '0x10' becomes 16, ' 7' becomes 7. A flow log never writes those, so a field that is not
-- plain decimal digits is not a number here (NULL), and the model quarantines its record with a
-- reason instead of publishing a rounded or reinterpreted value.
--
--   digits_to_bigint(txt)   BIGINT for 1 to 18 decimal digits (with an optional leading '-'), else NULL
CREATE OR REPLACE MACRO digits_to_bigint(txt) AS
    CASE WHEN regexp_full_match(txt, '-?[0-9]{1,18}') THEN CAST(txt AS BIGINT) END;
