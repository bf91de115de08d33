# Merges a layerc template fragment into a SAM template, until `layerc build --merge` exists.
#
#   jq --slurpfile fragment build/serverless.template.json --arg dir build \
#      -f merge-fragment.jq serverless.template > serverless.merged.template
#
# $fragment: the fragment written by `layerc build`; $dir: the output folder relative to the
# template (the fragment's ContentUri values are relative to that folder).
# - every AWS::Serverless::LayerVersion is added to Resources, ContentUri prefixed with $dir;
# - each function patch appends its Layers to the function's Layers and adds its variables to the
#   function's Environment.Variables (a function missing from the template shows up in cfn-lint);
# - Globals.Function (a spec without `function` nodes) is patched the same way.
# Layers already present are not added twice, so running it again changes nothing. Key order
# is kept; jq re-indents the file with two spaces.

def dedup: reduce .[] as $x ([]; if any(.[]; . == $x) then . else . + [$x] end);

def patch($p):
  .Layers = (((.Layers // []) + ($p.Layers // [])) | dedup)
  | if $p.Environment then .Environment.Variables += $p.Environment.Variables else . end;

$fragment[0] as $f
| .Resources += ($f.Resources
    | with_entries(select(.value.Type == "AWS::Serverless::LayerVersion")
        | .value.Properties.ContentUri = ($dir + "/" + .value.Properties.ContentUri)))
| reduce ($f.Resources | to_entries[] | select(.value.Type == null)) as $p (.;
    .Resources[$p.key].Properties |= patch($p.value.Properties))
| if $f.Globals then .Globals.Function |= patch($f.Globals.Function) else . end
