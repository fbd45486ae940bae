"""Reads Delta tables with an independent reader and prints their rows in a canonical form.

Run by test/interop/*.test.ts as a real process, one per scenario:
    python read-delta-tables.py REQUEST.json OUTPUT.json
REQUEST: {"reader": "deltalake" | "spark", "tables": {key: absolute path or store URL (s3://, az://,
          s3a://), or a Spark catalog name}, "storage_options": {...} (delta-rs, for a lake on object
          storage), "spark_conf": {...} (added to the session's, e.g. spark.hadoop.fs.s3a.*),
          "spark_jars": [...], "spark_ddl": "SQL of `netflow ddl --engine spark`" (optional, run
          first, so that its tables and views can be read by name), "spark_queries": {key: SQL}
          (optional, run after the DDL with its schema as the current one), "write_fixture": path}
OUTPUT: {"versions": {...}, "tables": {name: {"columns": [...], "rows": [row, ...]}}, "seconds": {...}}
Canonical values: integers as decimal strings, timestamps as UTC ISO with microseconds and "Z",
lists and structs as JSON text (keys sorted, integers as strings), doubles as JSON numbers.
"""
import datetime
import json
import os
import sys
import time

os.environ["TZ"] = "UTC"
time.tzset()


def nested(value):
    if value is None or isinstance(value, (bool, float, str)):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dict):
        return {key: nested(item) for key, item in value.items()}
    if hasattr(value, "asDict"):
        return nested(value.asDict(recursive=True))
    if isinstance(value, (list, tuple)):
        return [nested(item) for item in value]
    raise TypeError(f"no canonical form for {type(value).__name__}: {value!r}")


def canonical(value):
    value = nested(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return value


def canonical_rows(records):
    return [{key: canonical(item) for key, item in record.items()} for record in records]


def write_fixture(location):
    """A Delta table delta-rs writes itself, with every contract type, a replaced partition and a checkpoint."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    def batch(hour, run):
        return pa.table({
            "flow_id": pa.array([f"{run}-{i}" for i in range(3)], pa.string()),
            "start_at": pa.array([datetime.datetime(2024, 5, 1, int(hour), 0, 0, 123456 + i, tzinfo=datetime.timezone.utc) for i in range(3)], pa.timestamp("us", tz="UTC")),
            "src_port": pa.array([443, None, 22], pa.int32()),
            "bytes": pa.array([2**40, 0, 1], pa.int64()),
            "rate": pa.array([0.1, None, 1e-7], pa.float64()),
            "is_public": pa.array([True, False, None], pa.bool_()),
            "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
            "note": pa.array(["l'été", None, ""], pa.string()),
            "dt": pa.array(["2024-05-01"] * 3, pa.string()),
            "hour": pa.array([hour] * 3, pa.string()),
        })

    write_deltalake(location, batch("13", "run1"), partition_by=["dt", "hour"], mode="overwrite")
    write_deltalake(location, batch("14", "run1"), partition_by=["dt", "hour"], mode="append")
    # A rerun of hour 13: its partition replaced in one commit.
    write_deltalake(location, batch("13", "run2"), partition_by=["dt", "hour"], mode="overwrite", predicate="dt = '2024-05-01' AND hour = '13'")
    DeltaTable(location).create_checkpoint()
    write_deltalake(location, batch("15", "run3"), partition_by=["dt", "hour"], mode="append")


def read_deltalake(tables, storage_options):
    from deltalake import DeltaTable

    out = {}
    for name, location in tables.items():
        table = DeltaTable(location, storage_options=storage_options).to_pyarrow_table()
        out[name] = {"columns": table.column_names, "rows": canonical_rows(table.to_pylist())}
    return out


def spark_session(jars, conf):
    from pyspark.sql import SparkSession

    missing = [jar for jar in jars if not os.path.isfile(jar)]
    if missing:
        raise SystemExit(f"missing delta jars: {missing}")
    warehouse = os.path.join(os.environ.get("NETFLOW_SPARK_SCRATCH", "/tmp"), "spark-warehouse")
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("netflow-interop")
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.databricks.delta.snapshotPartitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def ddl_statements(text):
    statements = []
    for chunk in text.split(";\n"):
        sql = "\n".join(line for line in chunk.splitlines() if not line.startswith("--")).strip().rstrip(";")
        if sql:
            statements.append(sql)
    return statements


def read_spark(spark, tables, ddl, queries):
    out = {}
    if ddl:
        for statement in ddl_statements(ddl):
            spark.sql(statement)
        spark.sql("USE netflow")
    for name, sql in (queries or {}).items():
        frame = spark.sql(sql)
        out[name] = {"columns": frame.columns, "rows": canonical_rows(row.asDict(recursive=True) for row in frame.collect())}
    for name, location in tables.items():
        is_path = location.startswith("/") or "://" in location
        frame = spark.read.format("delta").load(location) if is_path else spark.table(location)
        out[name] = {"columns": frame.columns, "rows": canonical_rows(row.asDict(recursive=True) for row in frame.collect())}
    return out


def main():
    started = time.monotonic()
    with open(sys.argv[1]) as handle:
        request = json.load(handle)
    seconds = {}
    if request.get("write_fixture"):
        write_fixture(request["write_fixture"])
        seconds["write_fixture"] = round(time.monotonic() - started, 2)
    versions = {}
    if request["reader"] == "deltalake":
        import deltalake

        versions["deltalake"] = deltalake.__version__
        tables = read_deltalake(request["tables"], request.get("storage_options"))
    else:
        import pyspark

        versions["pyspark"] = pyspark.__version__
        before = time.monotonic()
        spark = spark_session(request["spark_jars"], request.get("spark_conf"))
        seconds["spark_start"] = round(time.monotonic() - before, 2)
        try:
            tables = read_spark(spark, request["tables"], request.get("spark_ddl"), request.get("spark_queries"))
        finally:
            spark.stop()
    seconds["total"] = round(time.monotonic() - started, 2)
    with open(sys.argv[2], "w") as handle:
        json.dump({"versions": versions, "tables": tables, "seconds": seconds}, handle, ensure_ascii=False)


if __name__ == "__main__":
    main()
