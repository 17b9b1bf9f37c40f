"""The deploy template (`infra/template/`): tables agree with the models, every function rolls out
behind an alias with alarms, and API Gateway's own answers are problem documents with CORS."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib import metrics, roles, store
from chalicelib.store.base import table_meta
from infra import bootstrap
from infra.project import PROJECT_DIR, Refusal, stage_config, stage_environment
from infra.template import chalice_sam
from infra.template.api import SIGNUP_THROTTLE, STAGE_THROTTLE, gateway_responses, resource_path
from infra.template.functions import ENVIRONMENT_REFS, FUNCTION_SETTINGS, WORKER_CONCURRENCY, function_resources
from infra.template.shared import ALIAS, TemplateError, queue_logical_ids
from infra.template.storage import queue_resources
from infra.template.tables import table_properties

# --- tables: the template says what the models create -------------------------------------------


def _shape_of_template(properties: dict) -> dict:
    def keys(schema):
        return tuple((k["AttributeName"], k["KeyType"]) for k in schema)

    def indexes(name):
        return {i["IndexName"]: (keys(i["KeySchema"]), i["Projection"]["ProjectionType"],
                                 tuple(sorted(i["Projection"].get("NonKeyAttributes", ()))))
                for i in properties.get(name, ())}

    ttl = properties.get("TimeToLiveSpecification")
    return {
        "keys": keys(properties["KeySchema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]),
        "global_indexes": indexes("GlobalSecondaryIndexes"),
        "local_indexes": indexes("LocalSecondaryIndexes"),
        "ttl": ttl["AttributeName"] if ttl and ttl["Enabled"] else None,
    }


def _shape_of_table(table_name: str) -> dict:
    """The same shape, from what DynamoDB (moto) says about a table PynamoDB created."""
    dynamodb = boto3.client("dynamodb")
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    described = {key: table[key] for key in ("KeySchema", "AttributeDefinitions") if key in table}
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if table.get(key):
            described[key] = table[key]
    if ttl.get("TimeToLiveStatus") == "ENABLED":
        described["TimeToLiveSpecification"] = {"AttributeName": ttl["AttributeName"], "Enabled": True}
    return _shape_of_template(described)


@pytest.mark.parametrize("model", store.ALL_MODELS, ids=lambda m: m.Meta.short_name)
def test_each_models_table_in_the_template_has_the_keys_indexes_and_ttl_the_bootstrap_created(model):
    generated = table_properties(model, os.environ["TABLE_PREFIX"])
    assert generated["TableName"] == model.Meta.table_name
    assert _shape_of_template(generated) == _shape_of_table(model.Meta.table_name)


class _ByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-owner"
        projection = IncludeProjection(["title"])

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class _ByStatus(LocalSecondaryIndex):
    class Meta:
        index_name = "by-status"
        projection = KeysOnlyProjection()

    pk = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(range_key=True)


class _ProbeItem(Model):
    """A model with everything other areas' models may use: range key, GSI, LSI, TTL."""

    Meta = table_meta("template-probe")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    owner_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    title = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)
    by_owner = _ByOwner()
    by_status = _ByStatus()


@pytest.fixture
def probe_table():
    _ProbeItem.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    yield _ProbeItem.Meta.table_name
    _ProbeItem.delete_table()


def test_range_keys_global_and_local_indexes_and_ttl_are_generated_as_dynamodb_creates_them(probe_table):
    generated = table_properties(_ProbeItem, os.environ["TABLE_PREFIX"])
    shape = _shape_of_template(generated)
    assert shape == _shape_of_table(probe_table)
    assert shape["global_indexes"]["by-owner"][1:] == ("INCLUDE", ("title",))
    assert shape["local_indexes"]["by-status"][1] == "KEYS_ONLY"
    assert shape["ttl"] == "expires_at"
    assert "ProvisionedThroughput" not in json.dumps(generated)  # on demand, indexes too


def test_a_template_that_drops_an_index_or_the_ttl_no_longer_matches_the_table(probe_table):
    generated = table_properties(_ProbeItem, os.environ["TABLE_PREFIX"])
    for broken in ({k: v for k, v in generated.items() if k != "GlobalSecondaryIndexes"},
                   {k: v for k, v in generated.items() if k != "TimeToLiveSpecification"},
                   {**generated, "KeySchema": generated["KeySchema"][:1]}):
        assert _shape_of_template(broken) != _shape_of_table(probe_table)


# --- the whole prod template --------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated():
    """The prod merge template, and Chalice's template merged with it as `chalice package` does.

    Generated in a fresh process, as `make package` does: it loads the app for prod.
    """
    environment = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    environment["AWS_DEFAULT_REGION"] = "ap-northeast-2"
    run = subprocess.run(
        [sys.executable, "-m", "infra.template", "--stage", "prod", "--merged"],
        cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, check=True,
    )
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def prod(generated):
    return generated["merge"]


def _broken_intrinsics(node, where="") -> list[str]:
    """Places where the deep merge left two intrinsic functions in one object (Chalice's and ours)."""
    broken = []
    if isinstance(node, dict):
        intrinsic = [k for k in node if k == "Ref" or k.startswith("Fn::")]
        if intrinsic and len(node) > 1:
            broken.append(f"{where}: {sorted(node)}")
        for key, value in node.items():
            broken += _broken_intrinsics(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            broken += _broken_intrinsics(value, f"{where}/{index}")
    return broken


def test_merging_into_chalices_template_leaves_every_intrinsic_function_whole(generated):
    assert _broken_intrinsics(generated["merged"]) == []
    assert generated["merged"]["Resources"]["APIHandler"]["Properties"]["Timeout"] == (
        FUNCTION_SETTINGS["api"]["Timeout"])


def _resources(prod, type_):
    return {name: r for name, r in prod["Resources"].items() if r.get("Type") == type_}


def _functions(prod):
    return {name: r for name, r in prod["Resources"].items() if "AutoPublishAlias" in r.get("Properties", {})}


def test_prod_declares_a_table_for_every_model_with_point_in_time_recovery_kept_on_delete(prod):
    tables = _resources(prod, "AWS::DynamoDB::Table")
    assert {t["Properties"]["TableName"] for t in tables.values()} == {
        "classpay-prod-" + m.Meta.short_name for m in store.ALL_MODELS}
    for table in tables.values():
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_every_function_rolls_out_through_an_alias_whose_alarms_roll_it_back(prod, chalice_app):
    functions = _functions(prod)
    assert {"APIHandler", "Bearer"} <= set(functions)
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["AutoPublishAlias"] == ALIAS
        alarms = [a["Ref"] for a in properties["DeploymentPreference"]["Alarms"]]
        assert {f"{name}ErrorsAlarm", f"{name}ThrottlesAlarm"} <= set(alarms)
        for alarm in alarms:
            assert prod["Resources"][alarm]["Type"] == "AWS::CloudWatch::Alarm"
        assert prod["Resources"][f"{name}LogGroup"]["Properties"]["LogGroupName"] == (
            f"/aws/lambda/{properties['FunctionName']}")
    assert "Api5xxAlarm" in [a["Ref"] for a in functions["APIHandler"]["Properties"]["DeploymentPreference"]["Alarms"]]
    assert prod["Parameters"]["DeploymentType"]["Default"].startswith("Canary")


def test_every_route_and_the_authorizer_invoke_the_alias_so_canaries_carry_traffic(prod, chalice_app):
    body = prod["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    routed = {(path, method) for path, methods in body["paths"].items() for method in methods}
    assert routed == {(path, method.lower()) for path, methods in chalice_app.routes.items() for method in methods}
    drawn = {"/instructor/dashboard.png", "/me/certificates/{course_id}", "/certificates/{verification_id}"}
    for path, methods in body["paths"].items():
        function = "DrawingHandler" if path in drawn else "APIHandler"
        for operation in methods.values():
            assert operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"][1] == {
                "Alias": {"Ref": f"{function}.Alias"}}, path
    for function in ("APIHandler", "DrawingHandler"):
        assert prod["Resources"][f"{function}AliasInvokePermission"]["Properties"]["FunctionName"] == {
            "Ref": f"{function}.Alias"}
    authorizer = body["securityDefinitions"]["bearer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerUri"]["Fn::Sub"][1] == {"Alias": {"Ref": "Bearer.Alias"}}
    assert prod["Resources"]["BearerAliasInvokePermission"]["Properties"]["FunctionName"] == {"Ref": "Bearer.Alias"}


def test_functions_get_the_identifiers_only_cloudformation_knows_from_the_template(prod):
    declared = set(prod["Resources"]) | set(prod["Parameters"])
    for function in _functions(prod).values():
        variables = function["Properties"]["Environment"]["Variables"]
        for variable, ref in ENVIRONMENT_REFS.items():
            assert variables[variable] == {"Ref": ref}
            assert ref in declared
    assert prod["Parameters"]["MailSender"]["Default"] == stage_environment("prod")["MAIL_SENDER"]
    assert prod["Parameters"]["PublicBaseUrl"]["Default"] == stage_environment("prod")["PUBLIC_BASE_URL"]


@pytest.mark.parametrize(("function", "layer", "package"), [("DrawingHandler", "DrawingLayer", "pillow"),
                                                         ("PayoutWorker", "PayoutWorkerLayer", "cryptography")])
def test_a_function_with_a_layer_of_its_own_keeps_the_shared_one_and_no_other_function_gets_it(
        generated, function, layer, package):
    """Pillow rides in a layer the drawing function alone loads, cryptography in one the payout worker alone
    loads. The merge replaces lists, so each must keep Chalice's dependency layer (automatic_layer), first."""
    merged = generated["merged"]["Resources"]
    layers = {name: r["Properties"].get("Layers") for name, r in merged.items()
              if r["Type"] == "AWS::Serverless::Function"}
    assert layers[function] == [{"Ref": "ManagedLayer"}, {"Ref": layer}]
    assert [name for name, value in layers.items() if {"Ref": layer} in value] == [function]
    assert all(value[0] == {"Ref": "ManagedLayer"} for value in layers.values())
    properties = merged[layer]["Properties"]
    assert merged[layer]["Type"] == "AWS::Serverless::LayerVersion"
    assert properties["ContentUri"] == f"./{layer}.zip"
    assert properties["CompatibleRuntimes"] == [merged[function]["Properties"]["Runtime"]]
    assert f"{package}==" in properties["Description"]


def test_the_drawing_function_is_the_api_function_again_with_pillow_and_more_memory(generated):
    """Same code, handler, role and environment as the API function: only its layer, memory and name differ."""
    merged = generated["merged"]["Resources"]
    api, drawing = merged["APIHandler"]["Properties"], merged["DrawingHandler"]["Properties"]
    assert merged["DrawingHandler"]["Type"] == "AWS::Serverless::Function"
    different = {"Layers", "MemorySize", "FunctionName", "DeploymentPreference", "CodeUri",  # Chalice: a placeholder here
                 "Environment"}
    assert {k: v for k, v in drawing.items() if k not in different} == {
        k: v for k, v in api.items() if k not in different}

    def variables(properties):  # the same but for the digest of its layers
        return {k: v for k, v in properties["Environment"]["Variables"].items() if k != "DEPENDENCIES_DIGEST"}
    assert variables(drawing) == variables(api)
    assert drawing["CodeUri"] == "./deployment.zip" and drawing["Handler"] == "app.app"
    assert drawing["MemorySize"] > api["MemorySize"]
    alarms = [a["Ref"] for a in drawing["DeploymentPreference"]["Alarms"]]
    assert alarms == ["Api5xxAlarm", "DrawingHandlerErrorsAlarm", "DrawingHandlerThrottlesAlarm"]


def test_a_new_layer_publishes_a_new_version_of_its_functions_only(generated, monkeypatch):
    """SAM publishes a version (the one the alias moves to) when a function's properties change, but a layer is
    a Ref it does not resolve: a new Pillow alone would reach $LATEST and never the traffic. The digest of what
    the function's layers are built from is in its environment, so a new pin is a new version of it alone."""
    from infra import function_layers, lint

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")

    def versions(merged: dict) -> dict[str, str]:
        transformed = lint.sam_transform(merged)["Resources"]
        return {name.split("Version")[0]: name for name, r in transformed.items() if r["Type"] == "AWS::Lambda::Version"}

    merged = generated["merged"]
    digests = {name: r["Properties"]["Environment"]["Variables"]["DEPENDENCIES_DIGEST"]
               for name, r in merged["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert digests["DrawingHandler"] == function_layers.dependencies_digest("DrawingHandler")
    assert len({digests["APIHandler"], digests["DrawingHandler"], digests["PayoutWorker"]}) == 3
    assert digests["APIHandler"] == digests["Bearer"]  # the same layers: the same digest
    before = versions(merged)
    bumped = json.loads(json.dumps(merged))
    bumped["Resources"]["DrawingHandler"]["Properties"]["Environment"]["Variables"]["DEPENDENCIES_DIGEST"] = "new-pin"
    after = versions(bumped)
    assert after["DrawingHandler"] != before["DrawingHandler"]
    assert {k: v for k, v in after.items() if k != "DrawingHandler"} == {
        k: v for k, v in before.items() if k != "DrawingHandler"}


def test_the_dependencies_digest_follows_the_requirements_a_layer_is_built_from(tmp_path, monkeypatch):
    from infra import function_layers

    for name in ("requirements.txt", "infra/drawing-requirements.txt", "infra/payout-worker-requirements.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    monkeypatch.setattr(function_layers, "PROJECT_DIR", tmp_path)
    before = {f: function_layers.dependencies_digest(f) for f in ("APIHandler", "DrawingHandler", "PayoutWorker")}
    (tmp_path / "infra/drawing-requirements.txt").write_text("pillow==12.2.1\n")
    after = {f: function_layers.dependencies_digest(f) for f in before}
    assert after["DrawingHandler"] != before["DrawingHandler"]
    assert after["APIHandler"] == before["APIHandler"] and after["PayoutWorker"] == before["PayoutWorker"]
    (tmp_path / "chalicelib/fonts").mkdir(parents=True)  # the drawing's fonts ride in its layer
    (tmp_path / "chalicelib/fonts/NanumSquareB.ttf").write_bytes(b"a newer font")
    with_fonts = {f: function_layers.dependencies_digest(f) for f in before}
    assert with_fonts["DrawingHandler"] != after["DrawingHandler"]
    assert with_fonts["APIHandler"] == after["APIHandler"] and with_fonts["PayoutWorker"] == after["PayoutWorker"]
    (tmp_path / "requirements.txt").write_text("boto3==9.9.9\n")  # the shared layer: every function
    assert all(function_layers.dependencies_digest(f) != with_fonts[f] for f in with_fonts)


def test_the_drawing_fonts_ride_in_the_drawing_layer_and_no_other_functions_code(tmp_path):
    """Only DrawingHandler draws: its layer carries chalicelib/fonts (at /opt/fonts, where typeface.py looks when
    the code has none), and `make package` leaves them out of the code zip every function loads."""
    import zipfile

    from chalicelib.services import typeface
    from infra import function_layers

    (drawing,) = [layer for layer in function_layers.FUNCTION_LAYERS if layer.data]
    assert (drawing.function, drawing.data) == ("DrawingHandler", "chalicelib/fonts")
    assert typeface._IN_LAYER == f"/opt/{Path(drawing.data).name}" and Path(typeface._BUNDLED) == PROJECT_DIR / drawing.data
    assert "fonts/NanumSquareB.ttf" in drawing.smoke  # the smoke run draws with the layer's own copy
    with zipfile.ZipFile(tmp_path / "deployment.zip", "w") as archive:
        for name in ("app.py", "chalicelib/services/typeface.py", "chalicelib/fonts/NanumSquareB.ttf",
                     "chalicelib/fonts/OFL.txt", "chalicelib/fontsmith.py"):
            archive.writestr(name, name)
    function_layers.leave_data_out_of_code(tmp_path)
    with zipfile.ZipFile(tmp_path / "deployment.zip") as archive:
        assert archive.namelist() == ["app.py", "chalicelib/services/typeface.py", "chalicelib/fontsmith.py"]
        assert archive.read("chalicelib/fontsmith.py") == b"chalicelib/fontsmith.py"


def test_lint_refuses_a_packaged_template_whose_layer_zip_was_not_built(tmp_path):
    from infra import lint

    resources = {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "./deployment.zip"}},
                 "Layer": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "./Layer.zip"}},
                 "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}}}
    (tmp_path / "sam.json").write_text(json.dumps({"Resources": resources}))
    (tmp_path / "deployment.zip").write_bytes(b"PK")
    assert lint.missing_code(tmp_path / "sam.json") == ["./Layer.zip"]
    assert lint.main([str(tmp_path / "sam.json")]) == 1


def _wheel_zip(path, wheel_tags: dict[str, list[str]]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, tags in wheel_tags.items():
            archive.writestr(f"python/{name}.dist-info/WHEEL", "Wheel-Version: 1.0\n" + "".join(
                f"Tag: {tag}\n" for tag in tags))


def test_lint_refuses_wheels_that_would_not_load_on_the_functions_lambda_image(tmp_path):
    """python3.11 on Lambda is Amazon Linux 2, glibc 2.26: a wheel compiled here, or one that needs glibc 2.28,
    passes every local test and fails on its first import there."""
    from infra import lint

    resources = {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.11"}}}
    (tmp_path / "sam.json").write_text(json.dumps({"Resources": resources}))
    _wheel_zip(tmp_path / "layer-deployment.zip", {
        "pure-1.0": ["py3-none-any"],
        "old-1.0": ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"],
        "legacy-1.0": ["cp311-cp311-manylinux1_x86_64"],
        "stable_abi-1.0": ["cp37-abi3-manylinux_2_17_x86_64", "cp37-abi3-manylinux2014_x86_64"],
        "built_here-1.0": ["cp311-cp311-linux_x86_64"],
        "too_new-1.0": ["cp311-cp311-manylinux_2_27_x86_64", "cp311-cp311-manylinux_2_28_x86_64"],
        "other_python-1.0": ["cp312-cp312-manylinux2014_x86_64"],
        "other_machine-1.0": ["cp311-cp311-manylinux2014_aarch64"],
    })
    assert lint.unfit_wheels(tmp_path / "sam.json") == [
        f"layer-deployment.zip: {name}" for name in (
            "built_here-1.0.dist-info (cp311-cp311-linux_x86_64)",
            "too_new-1.0.dist-info (cp311-cp311-manylinux_2_27_x86_64, cp311-cp311-manylinux_2_28_x86_64)",
            "other_python-1.0.dist-info (cp312-cp312-manylinux2014_x86_64)",
            "other_machine-1.0.dist-info (cp311-cp311-manylinux2014_aarch64)")]
    resources["Fn"]["Properties"]["Runtime"] = "python3.12"  # Amazon Linux 2023: glibc 2.34
    (tmp_path / "sam.json").write_text(json.dumps({"Resources": resources}))
    assert [line.split(": ")[1].split(".dist-info")[0] for line in lint.unfit_wheels(tmp_path / "sam.json")] == [
        "old-1.0", "legacy-1.0", "built_here-1.0", "too_new-1.0", "other_machine-1.0"]  # cp311-only: not for 3.12


def _packaged(where, runtime: str, files: dict[str, dict[str, str | bytes]]) -> None:
    """`where/sam.json` naming a function of `runtime` with its code in deployment.zip and a layer in Layer.zip;
    `files`: {zip name: {path in it: content}}."""
    import zipfile

    resources = {"Fn": {"Type": "AWS::Serverless::Function",
                        "Properties": {"Runtime": runtime, "CodeUri": "./deployment.zip", "Layers": [{"Ref": "Layer"}]}},
                 "Layer": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "./Layer.zip"}}}
    (where / "sam.json").write_text(json.dumps({"Resources": resources}))
    for zip_name, contents in files.items():
        with zipfile.ZipFile(where / zip_name, "w") as archive:
            for name, content in contents.items():
                archive.writestr(name, content)


def _sources() -> dict[str, dict[str, str]]:
    return {"deployment.zip": {"app.py": "from chalicelib import rules\n", "chalicelib/__init__.py": "",
                               "chalicelib/rules.py": "LIMIT = 3\n", "chalicelib/fonts/Nanum.ttf": "not python"},
            "Layer.zip": {"python/lib/python3.11/site-packages/dep/__init__.py": "VALUE = {'a', 'b'}\n",
                          "python/pillowish.py": "def draw():\n    return 1\n"}}


def test_make_package_compiles_every_module_for_the_functions_python_reproducibly(tmp_path):
    """Lambda's file system is read-only: a module shipped without bytecode is compiled on every cold start. Each
    zip the template names gets its modules' unchecked-hash bytecode (the same sources, the same bytes), naming the
    files where Lambda puts them (/var/task, /opt); and a Python other than the functions' refuses to compile."""
    import marshal
    import zipfile

    from infra import bytecode, lint

    for attempt in ("first", "again"):
        (tmp_path / attempt).mkdir()
        files = _sources()
        if attempt == "again":  # `chalice package` copies whatever bytecode the working tree has: timestamped
            files["deployment.zip"]["chalicelib/__pycache__/rules.cpython-311.pyc"] = b"\xa7\r\r\n" + bytes(12)
        _packaged(tmp_path / attempt, "python3.11", files)
        assert lint.unfit_bytecode(tmp_path / attempt / "sam.json")  # as `chalice package` leaves them
        assert bytecode.main([str(tmp_path / attempt)]) == 0
        assert lint.unfit_bytecode(tmp_path / attempt / "sam.json") == []
    for name in ("deployment.zip", "Layer.zip"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    with zipfile.ZipFile(tmp_path / "first" / "deployment.zip") as archive:
        assert archive.namelist() == sorted(archive.namelist())
        assert {info.date_time for info in archive.infolist()} == {bytecode.ZIP_TIME}
        compiled = archive.read("chalicelib/__pycache__/rules.cpython-311.pyc")
        assert "chalicelib/fonts/Nanum.ttf" in archive.namelist()
    assert int.from_bytes(compiled[4:8], "little") == 1  # hash-based, unchecked: the source is never read for it
    assert marshal.loads(compiled[16:]).co_filename == "/var/task/chalicelib/rules.py"
    with zipfile.ZipFile(tmp_path / "first" / "Layer.zip") as archive:
        layer_code = marshal.loads(archive.read("python/__pycache__/pillowish.cpython-311.pyc")[16:])
    assert layer_code.co_filename == "/opt/python/pillowish.py"
    (tmp_path / "newer").mkdir()
    _packaged(tmp_path / "newer", "python3.12", _sources())
    with pytest.raises(Refusal, match="python3.12"):
        bytecode.main([str(tmp_path / "newer")])


def test_lint_refuses_modules_whose_bytecode_is_missing_for_another_python_or_not_their_sources(tmp_path):
    import importlib.util
    import py_compile

    from infra import bytecode, lint

    def compiled(source: str, magic: bytes = importlib.util.MAGIC_NUMBER,
                 mode=py_compile.PycInvalidationMode.UNCHECKED_HASH) -> bytes:
        (tmp_path / "module.py").write_text(source)
        pyc = tmp_path / "module.pyc"
        py_compile.compile(str(tmp_path / "module.py"), cfile=str(pyc), doraise=True, invalidation_mode=mode)
        return magic + pyc.read_bytes()[4:]

    python312 = bytecode.magic("python3.12")
    _packaged(tmp_path, "python3.11", {
        "deployment.zip": {
            "app.py": "A = 1\n", "__pycache__/app.cpython-311.pyc": compiled("A = 1\n"),
            "chalicelib/checked.py": "B = 2\n", "chalicelib/__pycache__/checked.cpython-311.pyc": compiled(
                "B = 2\n", mode=py_compile.PycInvalidationMode.CHECKED_HASH),
            "chalicelib/none.py": "C = 3\n",
            "chalicelib/newer.py": "D = 4\n", "chalicelib/__pycache__/newer.cpython-312.pyc": compiled("D = 4\n", python312),
            "chalicelib/renamed.py": "E = 5\n",
            "chalicelib/__pycache__/renamed.cpython-311.pyc": compiled("E = 5\n", python312),
            "chalicelib/stale.py": "F = 6\n", "chalicelib/__pycache__/stale.cpython-311.pyc": compiled("F = 5\n"),
            "chalicelib/dated.py": "G = 7\n", "chalicelib/__pycache__/dated.cpython-311.pyc": compiled(
                "G = 7\n", mode=py_compile.PycInvalidationMode.TIMESTAMP),
        },
        "Layer.zip": {"python/dep.py": "H = 8\n", "python/__pycache__/dep.cpython-311.pyc": compiled("H = 8\n"),
                      "python/legacy.pyc": compiled("I = 9\n")},
    })
    assert lint.unfit_bytecode(tmp_path / "sam.json") == [
        "Layer.zip: python/legacy.pyc: bytecode not for python3.11 (cpython-311)",
        "deployment.zip: chalicelib/__pycache__/newer.cpython-312.pyc: bytecode not for python3.11 (cpython-311)",
        "deployment.zip: chalicelib/dated.py: timestamp bytecode (not reproducible: compile it hash-based)",
        "deployment.zip: chalicelib/newer.py: no bytecode",
        "deployment.zip: chalicelib/none.py: no bytecode",
        "deployment.zip: chalicelib/renamed.py: bytecode for another Python (magic 3531)",
        "deployment.zip: chalicelib/stale.py: bytecode of another source",
    ]
    assert lint.main([str(tmp_path / "sam.json")]) == 1


def test_the_bytecode_magic_of_the_python_here_is_the_one_lint_expects_of_its_runtime():
    import importlib.util

    from infra import bytecode

    assert bytecode.magic(bytecode.this_runtime()) == importlib.util.MAGIC_NUMBER
    assert bytecode.cache_tag(bytecode.this_runtime()) == sys.implementation.cache_tag


def test_routes_answer_within_api_gateways_limit_and_jobs_may_run_longer(prod):
    functions = _functions(prod)
    assert functions["APIHandler"]["Properties"]["Timeout"] < 29
    assert functions["Bearer"]["Properties"]["Timeout"] <= 10
    assert FUNCTION_SETTINGS["job"]["Timeout"] > FUNCTION_SETTINGS["api"]["Timeout"]
    assert FUNCTION_SETTINGS["worker"]["Timeout"] > FUNCTION_SETTINGS["api"]["Timeout"]


def _gateway_problem(response: dict) -> dict:
    """The body API Gateway would send: the template with `$context` values filled in."""
    body = response["responseTemplates"]["application/json"]
    body = body.replace("$context.error.messageString", json.dumps("Unauthorized"))
    body = body.replace("$context.error.responseType", "THROTTLED")
    return json.loads(body)


@pytest.mark.parametrize(("response_type", "status", "code"),
                         [("UNAUTHORIZED", 401, "UNAUTHENTICATED"), ("ACCESS_DENIED", 403, "FORBIDDEN")])
def test_authorizer_denials_are_problem_documents_that_browsers_may_read(prod, response_type, status, code):
    responses = prod["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    response = responses[response_type]
    assert response["statusCode"] == str(status)
    headers = response["responseParameters"]
    assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
    # prod allows two origins: the gateway echoes the caller's (it cannot choose from a list)
    assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin"
    assert headers["gatewayresponse.header.X-Request-Id"] == "context.requestId"
    problem = _gateway_problem(response)
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"] and problem["title"] and problem["detail"]


def test_the_gateways_other_answers_are_problem_documents_named_by_their_type(prod):
    responses = prod["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert _gateway_problem(responses[response_type])["code"] == "THROTTLED"
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in responses[response_type]["responseParameters"]


def test_a_single_allowed_origin_is_named_and_any_origin_is_a_star():
    one = gateway_responses({"CORS_ALLOWED_ORIGINS": "https://app.example"})
    assert one["UNAUTHORIZED"]["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == (
        "'https://app.example'")
    star = gateway_responses({"CORS_ALLOWED_ORIGINS": "*"})
    assert star["ACCESS_DENIED"]["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"


def test_every_queue_of_the_stage_has_a_dead_letter_queue_watched_by_an_alarm(prod):
    queues = bootstrap.named_resources(stage_environment("prod"), "_QUEUE")
    assert queues  # PAYOUT_QUEUE
    for name, (queue, dead_letters) in queue_logical_ids(stage_environment("prod")).items():
        assert name in queues.values()
        properties = prod["Resources"][queue]["Properties"]
        assert properties["QueueName"] == name and properties["SqsManagedSseEnabled"] is True
        assert properties["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dead_letters, "Arn"]}
        alarm = prod["Resources"][f"{dead_letters}Alarm"]["Properties"]
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters, "QueueName"]}}]


def test_the_lesson_bucket_is_private_encrypted_and_takes_presigned_uploads_from_the_stage_origins(prod):
    bucket = prod["Resources"]["LessonBucket"]
    properties = bucket["Properties"]
    assert properties["BucketName"] == "classpay-prod-lessons"
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    cors = properties["CorsConfiguration"]["CorsRules"][0]
    assert "PUT" in cors["AllowedMethods"]
    assert cors["AllowedOrigins"] == ["https://classpay.example", "https://studio.classpay.example"]
    assert bucket["DeletionPolicy"] == "Retain"
    deny = prod["Resources"]["LessonBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_user_pool_is_the_one_the_bootstrap_makes_with_a_group_per_role(prod):
    pool = prod["Resources"]["UserPool"]["Properties"]
    for setting, value in bootstrap.USER_POOL.items():
        assert pool[setting] == value
    client = prod["Resources"]["UserPoolClient"]["Properties"]
    for setting, value in bootstrap.APP_CLIENT.items():
        assert client[setting] == value
    groups = {g["Properties"]["GroupName"] for g in _resources(prod, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(roles.ALL_GROUPS)
    assert prod["Resources"]["PayoutAccountKey"]["Properties"]["EnableKeyRotation"] is True


def test_the_reconciliation_alarm_watches_the_metric_the_helper_emits(prod):
    alarm = prod["Resources"]["ReconciliationFailureAlarm"]["Properties"]
    emitted = metrics.document(metrics.RECONCILIATION_FAILURES)
    declared = emitted["_aws"]["CloudWatchMetrics"][0]
    assert alarm["Namespace"] == declared["Namespace"]
    assert alarm["MetricName"] == declared["Metrics"][0]["Name"]
    assert [d["Name"] for d in alarm["Dimensions"]] == declared["Dimensions"][0] == ["Stage"]


# --- functions other areas will add follow without edits ----------------------------------------

def _fake_chalice(events: dict) -> dict:
    return {"Resources": {
        "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.app", "Runtime": "python3.11"}},
        **{name: {"Type": "AWS::Serverless::Function",
                  "Properties": {"Handler": f"app.{handler}", "Runtime": "python3.11", "Events": {f"{name}Event": event}}}
           for name, (handler, event) in events.items()},
    }}


def _sqs(queue):  # as Chalice writes an `on_sqs_message` event source
    return {"Type": "SQS", "Properties": {
        "Queue": {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{queue}"},
        "BatchSize": 10}}


def test_a_queue_worker_and_a_scheduled_job_added_later_get_their_settings():
    chalice = _fake_chalice({
        "PayoutWorker": ("payout_worker", _sqs("classpay-prod-payouts")),
        "Settlement": ("settlement", {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}),
    })
    resources, consumer_timeouts = function_resources(chalice, "prod", stage_config("prod"))
    worker = resources["PayoutWorker"]["Properties"]
    assert worker["ReservedConcurrentExecutions"] == WORKER_CONCURRENCY
    event = worker["Events"]["PayoutWorkerEvent"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Queue"] == {"Fn::Sub": "${PayoutQueue.Arn}"}  # created before the event source
    assert resources["Settlement"]["Properties"]["Timeout"] == FUNCTION_SETTINGS["job"]["Timeout"]
    assert resources["Settlement"]["Properties"]["AutoPublishAlias"] == ALIAS
    queues = queue_resources(stage_environment("prod"), consumer_timeouts)
    assert queues["PayoutQueue"]["Properties"]["VisibilityTimeout"] == 6 * worker["Timeout"]
    assert _broken_intrinsics(chalice_sam.merged({"Resources": resources}, chalice)) == []


def test_a_worker_on_a_queue_the_stage_does_not_declare_is_refused():
    chalice = _fake_chalice({"Stray": ("stray", _sqs("somebody-elses-queue"))})
    with pytest.raises(TemplateError, match="somebody-elses-queue"):
        function_resources(chalice, "prod", stage_config("prod"))


def test_the_stage_throttles_every_route_and_auth_and_money_routes_tighter_through_the_sam_transform(
        generated, chalice_app, monkeypatch):
    """Issue 18: API Gateway's stage-wide default, and a tighter limit on every /auth/* route and every route
    that moves money (each route with an Idempotency-Key, the payout account, tax profile and revenue split), on
    the stage SAM creates."""
    from chalicelib.api.routing import ENDPOINTS
    from infra import lint

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    stage = next(r for r in lint.sam_transform(generated["merged"])["Resources"].values()
                 if r["Type"] == "AWS::ApiGateway::Stage")
    settings = {(s["HttpMethod"], s["ResourcePath"]): (s["ThrottlingRateLimit"], s["ThrottlingBurstLimit"])
                for s in stage["Properties"]["MethodSettings"]}
    default = settings.pop(("*", "/*"))
    assert default == STAGE_THROTTLE
    tight = {(e.method, resource_path(e.path)) for e in ENDPOINTS
             if e.path.startswith("/auth/") or e.idempotent}
    assert tight >= {("POST", "/~1auth~1login"), ("POST", "/~1auth~1signup"), ("POST", "/~1auth~1refresh"),
                     ("POST", "/~1orders"), ("POST", "/~1orders~1{order_id}~1refund"), ("POST", "/~1wallet~1topups"),
                     ("POST", "/~1wallet~1topups~1{topup_id}~1confirm")}
    tight |= {("PUT", "/~1instructor~1payout-account"), ("PUT", "/~1instructor~1tax-profile"),
              ("PUT", "/~1instructor~1courses~1{course_id}~1revenue-split")}
    assert set(settings) == tight  # every one of them, and only routes that exist
    for route, (rate, burst) in settings.items():
        assert rate < default[0] and burst < default[1] and rate <= burst, route
    assert settings[("POST", "/~1auth~1signup")] == SIGNUP_THROTTLE


def test_the_user_pool_audits_sign_in_risk_and_compromised_credentials(prod):
    """Cognito's threat protection in audit mode (why not ENFORCED: README, "Security"); it needs the Plus tier."""
    pool = prod["Resources"]["UserPool"]["Properties"]
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "AUDIT"}
    assert pool["UserPoolTier"] == "PLUS"
