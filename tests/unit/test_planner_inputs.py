"""The planner's inputs: settings read from the Terraform variables (flat or nested, from
a var file), the price file, and the command line's one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from shardline.cli import main
from shardline.errors import ShardlineError
from shardline.local.stack import project_root
from shardline.planner.costs import bundled_prices, load_prices
from shardline.planner.hcl import parse_tfvars, parse_variables
from shardline.planner.settings import load_deployment

TERRAFORM = project_root() / "terraform"

NESTED_VARIABLES = """
variable "region" {
  type    = string
  default = "eu-west-1"
  validation {
    condition     = can(regex("^[a-z]", var.region))
    error_message = "region must be a region."
  }
}
variable "aggregator" {
  description = "The aggregator, grouped."
  type = object({
    memory_size = optional(number, 768)
    mapping = optional(object({
      batch_size                         = optional(number, 250)
      maximum_batching_window_in_seconds = optional(number, 2)
      tumbling_window_in_seconds         = optional(number, 30)
    }), {})
  })
  default = {}
}
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_the_project_defaults_and_each_env_file_give_a_deployment() -> None:
    # GIVEN the project's variables and each envs/*.tfvars
    for var_file in [None, *sorted((TERRAFORM / "envs").glob("*.tfvars"))]:
        # WHEN the planner reads them
        deployment = load_deployment(TERRAFORM, var_file)
        # THEN every setting it needs is there
        assert deployment.aggregator.batch_size >= 1
        assert deployment.memory_mb["archive"] >= 128
    # AND a var file's values win over the defaults (local.tfvars: 10 s windows)
    local = load_deployment(TERRAFORM, TERRAFORM / "envs" / "local.tfvars")
    assert (local.tumbling_window_s, local.settle_seconds) == (10, 0)


def test_nested_object_variables_are_read_like_flat_ones() -> None:
    # GIVEN variables grouped into an object with optional defaults, two levels deep
    defaults, types = parse_variables(NESTED_VARIABLES)
    # THEN their defaults are the optional attributes' defaults
    assert defaults["aggregator"] == {"memory_size": 768, "mapping": {
        "batch_size": 250, "maximum_batching_window_in_seconds": 2,
        "tumbling_window_in_seconds": 30}}
    assert defaults["region"] == "eu-west-1"
    assert "aggregator" in types


def test_a_nested_var_file_overrides_its_defaults(tmp_path: Path) -> None:
    # GIVEN the project's variables with the aggregator regrouped as an object
    terraform = tmp_path / "terraform"
    (terraform / "modules" / "fanout").mkdir(parents=True)
    for source in [*TERRAFORM.glob("variables*.tf"),
                   *(TERRAFORM / "modules" / "fanout").glob("variables*.tf")]:
        target = terraform / source.relative_to(TERRAFORM)
        target.write_text(source.read_text())
    original = (TERRAFORM / "variables.tf").read_text()
    (terraform / "variables.tf").write_text(original.replace(
        'variable "aggregator_batch_size"', 'variable "old_aggregator_batch_size"')
        + NESTED_VARIABLES.split('variable "aggregator"')[0].replace('"region"', '"unused"')
        + 'variable "aggregator"' + NESTED_VARIABLES.split('variable "aggregator"')[1])
    var_file = tmp_path / "env.tfvars"
    var_file.write_text('aggregator = {\n  mapping = { batch_size = 2000 }\n}\n')
    # WHEN the planner reads them
    deployment = load_deployment(terraform, var_file)
    # THEN the nested value is found, and the other nested defaults kept
    assert deployment.aggregator.batch_size == 2000
    assert deployment.aggregator.batching_window_s == 2


def test_tfvars_values_of_every_kind_parse() -> None:
    # GIVEN a tfvars file with comments, lists, objects and escapes
    text = '# c\nname = "a\\"b" // c\nn = -1.5\nflag = false\nnone = null\n' \
           'items = [1, 2,]\nobj = { a = 1, "b" = [{ c = true }] }\n/* block */\n'
    # THEN each value is what Terraform reads
    assert parse_tfvars(text) == {"name": 'a"b', "n": -1.5, "flag": False, "none": None,
                                  "items": [1, 2], "obj": {"a": 1, "b": [{"c": True}]}}


def test_heredocs_and_unknown_expressions_do_not_stop_the_reader() -> None:
    # GIVEN a variable described by a heredoc holding quotes and braces, and a variable
    # whose default is an expression the reader does not evaluate
    text = ('variable "a" {\n  description = <<-EOT\n    a "b" { c\n  EOT\n'
            '  type = number\n  default = 3\n}\n'
            'variable "b" {\n  default = var.a + 1\n}\n'
            'variable "c" {\n  default = "x"\n}\n')
    # WHEN read
    defaults, _ = parse_variables(text)
    # THEN the others are read; the expression is skipped, not guessed
    assert defaults["a"] == 3 and defaults["c"] == "x"
    assert "b" not in defaults


def test_the_bundled_price_file_names_its_region_and_date() -> None:
    # GIVEN the bundled price file WHEN loaded THEN it says where and when
    prices = load_prices(bundled_prices("us-east-1"))
    assert prices.region == "us-east-1" and prices.as_of
    assert prices["kinesis"]["shard_hour"] > 0
    assert bundled_prices("xx-nowhere-1") is None


def test_a_price_file_missing_a_price_is_refused(tmp_path: Path) -> None:
    # GIVEN a price file without the DynamoDB section
    text = (bundled_prices("us-east-1") or Path()).read_text()
    broken = tmp_path / "prices.toml"
    broken.write_text(text.split("[dynamodb]")[0] + "[s3]\n" + text.split("[s3]")[1])
    # WHEN loaded THEN the error names what is missing
    with pytest.raises(ShardlineError, match=r"has no \[dynamodb\] section"):
        load_prices(broken)


def test_json_output_has_every_section() -> None:
    # GIVEN a fleet WHEN planned as JSON
    result = run("plan", "--devices", "1000", "--hz", "0.5", "--bytes", "180",
                 "--format", "json")
    # THEN it parses, and holds the shards, functions, tables, costs and savings
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["stream"]["shards"] == 1
    assert {"aggregator", "rollup", "scheduled_rollup"} <= set(report["lambda"])
    assert report["monthly_cost_usd"]["total"] == pytest.approx(
        sum(v for k, v in report["monthly_cost_usd"].items() if k != "total"), abs=0.05)
    assert report["savings"]["kpl_aggregation"]["put_payload_units_per_month"]["without"] > \
        report["savings"]["kpl_aggregation"]["put_payload_units_per_month"]["with"]
    assert report["prices"]["as_of"]


def test_the_table_output_shows_costs_and_savings() -> None:
    result = run("plan", "--devices", "200", "--hz", "1", "--bytes", "200", "--no-fanout",
                 "--var-file", str(TERRAFORM / "envs" / "prod.tfvars"))
    assert result.exit_code == 0, result.output
    for heading in ("Kinesis stream", "Lambda", "DynamoDB", "Monthly cost", "Savings"):
        assert heading in result.output
    assert "dispatcher" not in result.output


FLEET = ("--devices", "100", "--hz", "1", "--bytes", "200")


@pytest.mark.parametrize(("args", "fragment"), [
    (("--devices", "ten", "--hz", "1", "--bytes", "200"),
     "invalid --devices 'ten': expected a whole number"),
    (("--devices", "0", "--hz", "1", "--bytes", "200"), "invalid --devices '0': must be > 0"),
    (("--devices", "10", "--hz", "-1", "--bytes", "200"), "invalid --hz '-1': must be > 0"),
    (("--devices", "10", "--hz", "nan", "--bytes", "200"), "invalid --hz 'nan'"),
    ((*FLEET, "--speed", "0.5"), "invalid --speed '0.5': must be >= 1"),
    (("--devices", "100", "--hz", "1", "--bytes", "100000", "--no-aggregate", "--shards", "1"),
     "1 shards cannot carry"),
    ((*FLEET, "--var-file", "missing.tfvars"),
     "invalid --var-file 'missing.tfvars': no such file"),
    ((*FLEET, "--prices", "missing.toml"), "invalid --prices 'missing.toml': no such file"),
])
def test_bad_input_is_a_one_line_error(args: tuple[str, ...], fragment: str) -> None:
    # GIVEN a fleet with one bad option WHEN planned
    result = run("plan", *args)
    # THEN one line says what is wrong, with a non-zero exit
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.output
