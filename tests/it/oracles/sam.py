"""Oracles for merged templates, built on cfn-lint's decoder and the SAM translator.

  sam.py translate TEMPLATE...
      Translates each TEMPLATE with samtranslator (fake account and region, local paths replaced
      by S3 URIs as `sam package` would) and prints {template: {function id: [layers]}} as JSON,
      where a layer defined in the template shows as "layer:<LayerName>" and anything else as
      JSON text; a template the translator refuses maps to {"error": message}.

  sam.py unmerge ORIGINAL MERGED OWNED [ORIGINAL MERGED OWNED]...
      Removes from MERGED what OWNED (a JSON file: {"layers": [ids], "targets": [function ids or
      "Globals"], "refs": [layer values added], "variables": [names]}) says layerc owns, restores
      ORIGINAL's values there, and exits 1 printing both when the rest differs.
"""

import copy
import json
import os
import sys

from cfnlint.data import Serverless
from cfnlint.decode import decode
from cfnlint.helpers import load_resource
from samtranslator.parser import parser
from samtranslator.translator.translator import Translator

ACCOUNT = "123456789012"
REGION = "us-east-1"


def load(path):
    template, matches = decode(path)
    if matches:
        sys.exit(f"{path}: {[str(m) for m in matches]}")
    return json.loads(json.dumps(template, default=str))


def s3_uris(template):
    for resource in template.get("Resources", {}).values():
        props = resource.setdefault("Properties", {}) if isinstance(resource, dict) else {}
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind == "AWS::Serverless::Function" and props.get("PackageType") != "Image":
            if "InlineCode" not in props and not isinstance(props.get("CodeUri"), dict):
                props["CodeUri"] = "s3://bucket/code.zip"
        if kind == "AWS::Serverless::LayerVersion" and not isinstance(props.get("ContentUri"), dict):
            props["ContentUri"] = "s3://bucket/layer.zip"
        if kind == "AWS::Serverless::Api" and isinstance(props.get("DefinitionUri"), str):
            props["DefinitionUri"] = "s3://bucket/api.yaml"
    globals_function = template.get("Globals", {}).get("Function", {})
    if isinstance(globals_function.get("CodeUri"), str):
        globals_function["CodeUri"] = "s3://bucket/code.zip"


def translate(path):
    try:
        return functions(path)
    except Exception as e:  # the translator's refusal is data for the caller
        return {"error": str(e)}


def functions(path):
    template = load(path)
    s3_uris(template)
    os.environ["AWS_DEFAULT_REGION"] = REGION
    parameters = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
    for name, p in template.get("Parameters", {}).items():
        parameters.setdefault(name, p.get("Default", "x86_64" if "Arch" in name else "value"))
    policies = load_resource(Serverless, "ManagedPolicies.json")
    out = Translator(managed_policy_map=policies, sam_parser=parser.Parser()).translate(
        sam_template=template, parameter_values=parameters
    )
    resources = out["Resources"]
    result = {}
    for rid, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        layers = []
        for layer in resource["Properties"].get("Layers", []):
            target = resources.get(layer.get("Ref")) if isinstance(layer, dict) else None
            if target and target["Type"] == "AWS::Lambda::LayerVersion":
                name = target["Properties"]["LayerName"]
                # An intrinsic LayerName (Fn::Sub) shows as its JSON text.
                layers.append("layer:" + (name if isinstance(name, str) else json.dumps(name, sort_keys=True)))
            else:
                layers.append(layer if isinstance(layer, str) else json.dumps(layer, sort_keys=True))
        result[rid] = layers
    return result


def restore(merged, original, path):
    """Sets merged[path] to original[path], or deletes it (and parents left empty) when absent."""
    def walk(node, keys):
        for k in keys:
            if not isinstance(node, dict) or k not in node:
                return None
            node = node[k]
        return node

    parent = walk(merged, path[:-1])
    if parent is None:
        return
    value = walk(original, path)
    if value is None:
        parent.pop(path[-1], None)
        for depth in range(len(path) - 1, 0, -1):
            node = walk(merged, path[:depth])
            if node == {} and walk(original, path[:depth]) is None:
                walk(merged, path[: depth - 1]).pop(path[depth - 1])
    else:
        parent[path[-1]] = copy.deepcopy(value)


def unmerge(original_path, merged_path, owned_path):
    original = load(original_path)
    merged = load(merged_path)
    with open(owned_path) as f:
        owned = json.load(f)
    for layer in owned["layers"]:
        if layer not in original.get("Resources", {}):
            merged["Resources"].pop(layer, None)
        else:
            merged["Resources"][layer] = copy.deepcopy(original["Resources"][layer])
    for target in owned["targets"]:
        props = ["Globals", "Function"] if target == "Globals" else ["Resources", target, "Properties"]
        node = merged
        for key in props:
            node = node.get(key, {})
        kept = [layer for layer in node.get("Layers", []) if layer not in owned["refs"]]
        if kept or "Layers" in (original.get("Resources", {}).get(target, {}).get("Properties", {}) if target != "Globals" else original.get("Globals", {}).get("Function", {})):
            node["Layers"] = kept
        else:
            node.pop("Layers", None)
        for name in owned["variables"]:
            restore(merged, original, props + ["Environment", "Variables", name])
        if node == {}:
            restore(merged, original, props)
    if merged != original:
        print(merged_path, json.dumps({"original": original, "merged": merged}, indent=1, sort_keys=True))
        return False
    return True


if __name__ == "__main__":
    args = sys.argv[2:]
    if sys.argv[1] == "translate":
        print(json.dumps({path: translate(path) for path in args}, indent=1, sort_keys=True))
    else:
        same = [unmerge(*args[i : i + 3]) for i in range(0, len(args), 3)]
        sys.exit(0 if all(same) else 1)
