//! The merge's text: new members follow the file's own indentation, line breaks, list style and
//! quoting; existing values layerc does not own are never rewritten.

use layerc::template::{
    ErrorKind, FunctionPatch, LayerResource, LibraryPath, Patch, Target, Template, Value,
};

/// The layer every merge test adds: FreeType for python3.12.
pub(crate) fn fonts_layer() -> LayerResource {
    LayerResource {
        logical_id: "FontsLayer".into(),
        name: "fonts".into(),
        layer_name: None,
        description: "Native libraries: libfreetype.so.6".into(),
        content: "build/fonts.zip".into(),
        runtimes: vec!["python3.12".into()],
        architectures: vec!["x86_64".into()],
    }
}

fn patch(target: Target) -> Patch {
    Patch {
        layers: vec![fonts_layer()],
        functions: vec![FunctionPatch {
            target,
            layers: vec![Value::reference("FontsLayer")],
            library_path: Some(LibraryPath {
                folders: vec!["/opt/lib".into()],
                append: false,
                runtime_default: vec!["/var/lang/lib".into(), "/opt/lib".into()],
            }),
            env: Vec::new(),
        }],
    }
}

fn merge(text: &str, target: &str) -> String {
    let merged = Template::parse(text)
        .unwrap()
        .merge(&patch(Target::Function(target.into())))
        .unwrap();
    let again = Template::parse(&merged)
        .unwrap()
        .merge(&patch(Target::Function(target.into())))
        .unwrap();
    assert_eq!(again, merged, "a second merge changed the text");
    merged
}

const SAM_YAML: &str = "Transform: AWS::Serverless-2016-10-31\nResources:\n";

#[test]
fn json_with_four_spaces_gets_four_spaces() {
    let text = "{\n    \"Transform\": \"AWS::Serverless-2016-10-31\",\n    \"Resources\": {\n        \"F\": {\n            \"Type\": \"AWS::Serverless::Function\",\n            \"Properties\": {\n                \"Runtime\": \"python3.12\"\n            }\n        }\n    }\n}\n";
    let merged = merge(text, "F");
    assert!(
        merged.contains("                \"Runtime\": \"python3.12\",\n                \"Layers\": [\n                    {\n                        \"Ref\": \"FontsLayer\"\n                    }\n                ],\n"),
        "{merged}"
    );
    assert!(
        merged.ends_with("            }\n        }\n    }\n}\n"),
        "{merged}"
    );
}

#[test]
fn tabs_and_crlf_are_kept() {
    let text = "{\r\n\t\"Transform\": \"AWS::Serverless-2016-10-31\",\r\n\t\"Resources\": {\r\n\t\t\"F\": {\r\n\t\t\t\"Type\": \"AWS::Serverless::Function\",\r\n\t\t\t\"Properties\": {\"Runtime\": \"python3.12\", \"Layers\": []}\r\n\t\t}\r\n\t}\r\n}\r\n";
    let merged = merge(text, "F");
    assert!(
        !merged.replace("\r\n", "").contains('\n'),
        "a bare LF: {merged:?}"
    );
    assert!(
        merged.contains("\r\n\t\t\"FontsLayer\": {\r\n\t\t\t\"Type\""),
        "{merged:?}"
    );
    // An inline object stays on one line.
    assert!(
        merged.contains("\"Layers\": [\r\n\t\t\t\t{\r\n"),
        "{merged:?}"
    );
}

#[test]
fn yaml_lists_follow_the_file_style() {
    let text = format!(
        "{SAM_YAML}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Layers:\n      - arn:aws:lambda:us-east-1:123456789012:layer:a:1 # pinned\n      Runtime: python3.12\n"
    );
    let merged = merge(&text, "F");
    assert!(
        merged.contains("      - arn:aws:lambda:us-east-1:123456789012:layer:a:1 # pinned\n      - !Ref FontsLayer\n      Runtime: python3.12\n"),
        "{merged}"
    );
    // New lists copy the unindented style too.
    assert!(
        merged.contains("      CompatibleRuntimes:\n      - python3.12\n"),
        "{merged}"
    );
}

#[test]
fn yaml_flow_lists_and_crlf() {
    let text = format!("{SAM_YAML}  F:\n    Type: AWS::Serverless::Function\n    Properties: {{Runtime: python3.12, Layers: [!Ref Shared]}}\n  Shared:\n    Type: AWS::Serverless::LayerVersion\n    Properties: {{ContentUri: shared/}}\n").replace('\n', "\r\n");
    let merged = merge(&text, "F");
    assert!(
        merged.contains("Properties: {Runtime: python3.12, Layers: [!Ref Shared, !Ref FontsLayer], Environment: {Variables: {LD_LIBRARY_PATH: \"/opt/lib:/var/lang/lib\"}}}\r\n"),
        "{merged:?}"
    );
    assert!(
        !merged.replace("\r\n", "").contains('\n'),
        "a bare LF: {merged:?}"
    );
}

#[test]
fn an_existing_layer_resource_is_updated_and_keeps_what_layerc_does_not_own() {
    let text = format!(
        "{SAM_YAML}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n  FontsLayer:\n    Type: AWS::Serverless::LayerVersion\n    Metadata:\n      BuildMethod: makefile   # kept\n    Properties:\n      ContentUri: 'old/fonts.zip'\n      LicenseInfo: MIT\n"
    );
    let merged = merge(&text, "F");
    assert!(
        merged.contains("    Metadata:\n      BuildMethod: makefile   # kept\n"),
        "{merged}"
    );
    assert!(
        merged.contains("      ContentUri: build/fonts.zip\n      LicenseInfo: MIT\n"),
        "{merged}"
    );
}

#[test]
fn ld_library_path_is_prepended_to_the_function_s_own_value() {
    let text = format!(
        "{SAM_YAML}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Environment:\n        Variables:\n          LD_LIBRARY_PATH: '/opt/custom:/var/task'\n          MODE: fast\n"
    );
    let merged = merge(&text, "F");
    assert!(
        merged.contains(
            "          LD_LIBRARY_PATH: /opt/lib:/opt/custom:/var/task\n          MODE: fast\n"
        ),
        "{merged}"
    );
}

#[test]
fn an_empty_yaml_value_is_filled_and_a_bom_is_kept() {
    let text = format!(
        "\u{feff}{SAM_YAML}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n      Runtime: python3.12\n"
    );
    let merged = merge(&text, "F");
    assert!(merged.starts_with('\u{feff}'));
    assert!(merged.contains("      Environment:\n        Variables:\n          LD_LIBRARY_PATH: /opt/lib:/var/lang/lib\n      Runtime: python3.12\n"), "{merged}");
}

#[test]
fn plain_cloudformation_gets_a_lambda_layer_version_and_no_globals() {
    let text = "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.12\n";
    let merged = merge(text, "F");
    assert!(
        merged.contains("  FontsLayer:\n    Type: AWS::Lambda::LayerVersion\n    Properties:\n"),
        "{merged}"
    );
    assert!(
        merged.contains("      Content: build/fonts.zip\n"),
        "{merged}"
    );
    assert!(!merged.contains("RetentionPolicy"), "{merged}");
    let error = Template::parse(text)
        .unwrap()
        .merge(&patch(Target::Globals))
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unmergeable);
}

#[test]
fn globals_is_created_before_resources_above_its_comment() {
    let text = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n\n# The functions.\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n";
    let merged = Template::parse(text)
        .unwrap()
        .merge(&patch(Target::Globals))
        .unwrap();
    assert!(
        merged.contains("Transform: AWS::Serverless-2016-10-31\n\nGlobals:\n  Function:\n    Layers:\n      - !Ref FontsLayer\n"),
        "{merged}"
    );
    assert!(
        merged.contains("\n\n# The functions.\nResources:\n"),
        "{merged}"
    );
}

#[test]
fn intrinsic_layers_and_unknown_functions_are_errors() {
    let text = format!(
        "{SAM_YAML}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Layers: !If [HasLayers, [a], !Ref AWS::NoValue]\n"
    );
    let error = Template::parse(&text)
        .unwrap()
        .merge(&patch(Target::Function("F".into())))
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unmergeable);
    assert!(error.message.contains("(!If)"), "{error:?}");
    let error = Template::parse(&text)
        .unwrap()
        .merge(&patch(Target::Function("G".into())))
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::UnknownFunction);
}
