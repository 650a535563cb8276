# Glue catalog database and table over the archive, for Athena: the DDL of
# docs/archive.md, with partition projection (dt: dates from 2020-01-01 to tomorrow;
# hour: 00-23), so new hours are queryable as soon as their objects exist.

resource "aws_glue_catalog_database" "archive" {
  name        = local.archive_database
  description = "Raw telemetry archived by the ${local.archive_name} worker"
}

resource "aws_glue_catalog_table" "raw_telemetry" {
  database_name = aws_glue_catalog_database.archive.name
  name          = local.archive_table
  description   = "Telemetry v1 user records, one JSON object per line, gzipped, by event date and hour (UTC)"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                    = "TRUE"
    "classification"              = "json"
    "compressionType"             = "gzip"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "2020-01-01,NOW+1DAYS"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "projection.hour.type"        = "integer"
    "projection.hour.range"       = "0,23"
    "projection.hour.digits"      = "2"
    "storage.location.template"   = "${local.archive_location}dt=$${dt}/hour=$${hour}/"
  }

  partition_keys {
    name = "dt"
    type = "string"
  }

  partition_keys {
    name = "hour"
    type = "string"
  }

  storage_descriptor {
    location      = local.archive_location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    compressed    = true

    ser_de_info {
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "ignore.malformed.json" = "false"
        "case.insensitive"      = "false"
      }
    }

    columns {
      name    = "v"
      type    = "int"
      comment = "schema version"
    }

    columns {
      name = "device_id"
      type = "string"
    }

    columns {
      name = "site"
      type = "string"
    }

    columns {
      name    = "ts"
      type    = "bigint"
      comment = "event time, ms since the epoch"
    }

    columns {
      name = "seq"
      type = "bigint"
    }

    columns {
      name    = "boot"
      type    = "bigint"
      comment = "null when the device omits it: read as 0"
    }

    columns {
      name    = "metrics"
      type    = "map<string,decimal(15,6)>"
      comment = "the data contract's value grid, exactly"
    }
  }
}
