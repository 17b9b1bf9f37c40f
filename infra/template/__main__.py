"""`python -m infra.template --stage prod --output build/merge-prod.json`: write the merge template."""

import argparse
import json
import sys
from pathlib import Path

from infra.project import run_command
from infra.template import chalice_template, generate, merged
from infra.template.shared import TemplateError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The CloudFormation `chalice package --merge-template` merges.")
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--output", help="file to write (default: stdout)")
    parser.add_argument("--merged", action="store_true",
                        help="print the merge template and Chalice's, merged as `chalice package` does")
    args = parser.parse_args(argv)
    try:
        if args.merged:
            chalice = chalice_template(args.stage)
            merge = generate(args.stage, chalice)
            document = {"merge": merge, "merged": merged(generate(args.stage, chalice), chalice)}
        else:
            document = generate(args.stage)
    except TemplateError as error:
        raise TemplateError(f"infra.template: {error}") from error
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    run_command(main)
