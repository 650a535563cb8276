"""``shardline package``: the Lambda zips and the var file naming them."""

from __future__ import annotations

from pathlib import Path

import click

from shardline.cli.app import main


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: dist/lambda in the project).")
@click.option("--with-dependencies", is_flag=True,
              help="Also build dependencies.zip, the layer real AWS needs, from "
                   "lambdas/requirements.lock (uses the package index).")
@click.option("--var-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None,
              help="Build the layer for the lambda_runtime and lambda_architecture this "
                   "tfvars file sets (e.g. terraform/envs/prod.tfvars).")
@click.option("--runtime", default=None,
              help="Lambda runtime of the layer (default: the var file's, else "
                   "python3.12, Terraform's default).")
@click.option("--architecture", type=click.Choice(["x86_64", "arm64"]), default=None,
              help="Lambda architecture of the layer (default: the var file's, else x86_64).")
def package(out: Path | None, with_dependencies: bool, var_file: Path | None,
            runtime: str | None, architecture: str | None) -> None:
    """Build the Lambda zips (deterministic: same sources, same hash), and
    packages.tfvars.json naming each zip and its hash for `terraform apply -var-file`."""
    from shardline import packaging
    from shardline.local.stack import project_root

    root = project_root()
    out_dir = out or root / "dist" / "lambda"
    settings = packaging.lambda_settings_from_var_file(var_file) if var_file else {}
    runtime = runtime or settings.get("lambda_runtime", packaging.DEFAULT_RUNTIME)
    architecture = architecture or settings.get("lambda_architecture",
                                                packaging.DEFAULT_ARCHITECTURE)
    built = packaging.build_all(root, out_dir)
    if with_dependencies:
        built.append(packaging.build_dependencies_layer(root, out_dir, runtime=runtime,
                                                        architecture=architecture))
    for package_ in built:
        click.echo(f"{package_.path}  sha256(base64)={package_.base64sha256}")
    var_file = packaging.write_var_file(built, out_dir)
    click.echo(f"{var_file}  (terraform apply -var-file=… deploys every package above)")
