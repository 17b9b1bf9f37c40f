"""Chalice's own SAM template for a stage, and Chalice's merge of ours into it."""

import json
import os

from chalice.cli.factory import CLIFactory
from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
from chalice.deploy.deployer import BuildStage, InjectDefaults, PolicyGenerator, SwaggerBuilder
from chalice.deploy.swagger import CFNSwaggerGenerator
from chalice.package import SAMTemplateGenerator, TemplateDeepMerger
from chalice.policy import AppPolicyGenerator
from chalice.utils import OSUtils

from infra.project import PROJECT_DIR


class _PackageOptions:
    """What `SAMTemplateGenerator` asks of `chalice package`'s options (the service principals)."""

    def service_principal(self, service: str) -> str:
        return f"{service}.amazonaws.com"


def chalice_template(stage: str) -> dict:
    """Chalice's SAM template for `stage`, as `chalice package` writes it.

    `chalice package` builds the deployment package (pip, zips) before it writes its template, and
    cannot be asked for the template alone; this runs only its template steps (Chalice's deploy
    pipeline, pinned in requirements-dev.txt): seconds, and no package. Loading the app applies the
    stage's environment variables, as `chalice package` does.
    """
    # environ=os.environ, as the `chalice` CLI does: the app is imported with the stage's variables set.
    factory = CLIFactory(project_dir=str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    resources = DependencyBuilder().build_dependencies(ApplicationGraphBuilder().build(config, stage))
    osutils = OSUtils()
    BuildStage([InjectDefaults(), PolicyGenerator(AppPolicyGenerator(osutils), osutils),
                SwaggerBuilder(CFNSwaggerGenerator())]).execute(config, resources)
    return json.loads(json.dumps(SAMTemplateGenerator(config, _PackageOptions()).generate(resources), default=str))


def merged(overrides: dict, chalice: dict) -> dict:
    """What `chalice package --merge-template` makes of the two (Chalice's own deep merge)."""
    return TemplateDeepMerger().merge(overrides, chalice)
