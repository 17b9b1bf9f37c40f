"""`make lint-infra`: cfn-lint on the packaged template, before and after the SAM transform.

    python -m infra.lint out/sam.json

cfn-lint validates SAM resources against SAM's schemas without running the transform, so
mistakes that only the transform reveals (an alias reference SAM cannot resolve, a deployment
preference it rejects) would reach CloudFormation. This also runs the transform offline, as
CloudFormation will (code locations stand in for the S3 objects `aws cloudformation package`
uploads), and lints the plain CloudFormation that comes out. Before both, every code and layer
zip the template names must be beside it (a layer `make package` forgot to build fails here).

No check is suppressed on the packaged template. On the transformed one, W2001 (parameter not
used) is: the transform substitutes `DeploymentType` into the CodeDeploy resources itself.
"""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGIONS = ("ap-northeast-2", "us-east-1")
TRANSFORMED_IGNORES = ("W2001",)


def _cfn_lint(template: Path, ignore: tuple[str, ...] = ()) -> int:
    command = [str(Path(sys.executable).parent / "cfn-lint"), "--regions", *REGIONS]
    if ignore:
        command += ["--ignore-checks", *ignore]
    return subprocess.run([*command, "--", str(template)], check=False).returncode


def sam_transform(template: dict) -> dict:
    """The CloudFormation the SAM transform makes of `template` (offline: no managed policies needed)."""
    from samtranslator.translator.transform import transform

    class _NoManagedPolicies:
        def load(self) -> dict:
            return {}

    template = json.loads(json.dumps(template))
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for location in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(location), str):
                properties[location] = "s3://packaged/" + Path(properties[location]).name
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    return transform(template, {}, _NoManagedPolicies())


def missing_code(packaged: Path) -> list[str]:
    """Code and layer zips the template names that are not beside it (`aws cloudformation package` would fail)."""
    resources = json.loads(packaged.read_text())["Resources"]
    locations = [r.get("Properties", {}).get(key) for r in resources.values() for key in ("CodeUri", "ContentUri")]
    return [location for location in locations
            if isinstance(location, str) and not (packaged.parent / location).is_file()]


def main(argv: list[str]) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGIONS[0])
    packaged = Path(argv[0] if argv else "out/sam.json")
    if missing := missing_code(packaged):
        print(f"{packaged} names code that is not there: {', '.join(missing)}", file=sys.stderr)  # noqa: T201
        return 1
    failed = _cfn_lint(packaged)
    transformed = PROJECT_DIR / "build" / f"{packaged.stem}.transformed.json"
    transformed.parent.mkdir(exist_ok=True)
    transformed.write_text(json.dumps(sam_transform(json.loads(packaged.read_text())), indent=1))
    failed = _cfn_lint(transformed, TRANSFORMED_IGNORES) or failed
    if not failed:
        print(f"cfn-lint: {packaged} and its SAM transform are clean")  # noqa: T201
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
