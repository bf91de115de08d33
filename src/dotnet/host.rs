//! What the .NET host tells CoreCLR about an application, read from the files beside it:
//! `<app>.runtimeconfig.json` (the .NET version, `System.Globalization.Invariant`) and
//! `<app>.deps.json` (the native asset folders that become NATIVE_DLL_SEARCH_DIRECTORIES).
//!
//! Lambda starts a function with `dotnet exec --depsfile /var/task/<app>.deps.json --runtimeconfig
//! /var/task/<app>.runtimeconfig.json ...` (aws/aws-lambda-dotnet
//! `Libraries/src/Amazon.Lambda.RuntimeSupport/bootstrap.sh`), and hostpolicy makes the folder of
//! `--depsfile` the app folder (`init_arguments`, `src/native/corehost/hostpolicy/args.cpp` @
//! 104034fa322a4e96762d19d89cc66064c5207380): `/var/task`.

use serde_json::Value;

/// What `<app>.runtimeconfig.json` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// `net8.0`, `netcoreapp3.1` (`runtimeOptions.tfm`).
    pub tfm: Option<String>,
    /// The version of Microsoft.NETCore.App the app asks for or ships (`framework`, `frameworks`,
    /// `includedFrameworks`).
    pub framework_version: Option<String>,
    /// A self-contained app (`includedFrameworks`): the runtime is in the app folder.
    pub self_contained: bool,
    /// `configProperties.System.Globalization.Invariant` is true: no ICU is loaded.
    pub invariant: bool,
}

impl RuntimeConfig {
    /// The .NET version the app runs on: its framework's version, else its target framework.
    pub fn dotnet_version(&self) -> Option<String> {
        if let Some(v) = &self.framework_version {
            return Some(v.clone());
        }
        let tfm = self.tfm.as_deref()?;
        let v = tfm
            .strip_prefix("netcoreapp")
            .or_else(|| tfm.strip_prefix("net"))?;
        Some(v.to_string())
    }
}

const NETCORE_APP: &str = "Microsoft.NETCore.App";

/// Reads `<app>.runtimeconfig.json`; `Err` says why it is not one.
pub fn runtime_config(bytes: &[u8]) -> Result<RuntimeConfig, String> {
    let json: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let options = json
        .get("runtimeOptions")
        .ok_or("it has no runtimeOptions")?;
    let mut config = RuntimeConfig {
        tfm: options
            .get("tfm")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..RuntimeConfig::default()
    };
    let single = options.get("framework").into_iter();
    let listed = ["frameworks", "includedFrameworks"]
        .iter()
        .filter_map(|k| options.get(*k).and_then(Value::as_array))
        .flatten();
    config.framework_version = single
        .chain(listed)
        .find(|f| f.get("name").and_then(Value::as_str) == Some(NETCORE_APP))
        .and_then(|f| f.get("version").and_then(Value::as_str))
        .map(str::to_string);
    config.self_contained = options.get("includedFrameworks").is_some();
    // hostpolicy passes configProperties to CoreCLR as strings; GlobalizationMode reads the switch
    // as a boolean ("true" or true).
    config.invariant = options
        .get("configProperties")
        .and_then(|p| p.get("System.Globalization.Invariant"))
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    Ok(config)
}

/// The RIDs whose native assets a linux-x64 (or linux-arm64) process takes, best first: the
/// portable RID and its fallbacks (`linux-x64 → linux → unix-x64 → unix → any` in the RID graph of
/// Microsoft.NETCore.App.deps.json 3.1.23, which .NET 8 and later keep built in). Lambda's own RID
/// (`amzn.2-x64`) is not in the graph, so the host takes the portable one.
pub fn rid_fallbacks(arch_rid: &str) -> Vec<String> {
    vec![
        format!("linux-{arch_rid}"),
        "linux".to_string(),
        format!("unix-{arch_rid}"),
        "unix".to_string(),
        "any".to_string(),
    ]
}

/// The folders (relative to the app folder, `""` for the app folder itself) of the native assets
/// `<app>.deps.json` names, in its order without duplicates: what hostpolicy puts first in
/// NATIVE_DLL_SEARCH_DIRECTORIES (`resolve_probe_dirs`, deps_resolver.cpp @
/// 00b6c9865f451c40b51eb2d79f6d388541044eeb; then the frameworks' folders). A RID-specific asset
/// (`runtimeTargets`, `assetType: native`) lies at its path below the app folder, and only the best
/// RID of `rids` that the library has counts; a plain `native` asset lies in the app folder itself.
pub fn native_asset_dirs(deps_json: &[u8], rids: &[String]) -> Result<Vec<String>, String> {
    let json: Value = serde_json::from_slice(deps_json).map_err(|e| e.to_string())?;
    let target = json
        .get("runtimeTarget")
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        .ok_or("it has no runtimeTarget")?;
    let libraries = json
        .get("targets")
        .and_then(|t| t.get(target))
        .and_then(Value::as_object)
        .ok_or_else(|| format!("it has no target `{target}`"))?;
    let mut dirs: Vec<String> = Vec::new();
    let mut add = |dir: String| {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    };
    for library in libraries.values() {
        if let Some(native) = library.get("native").and_then(Value::as_object)
            && !native.is_empty()
        {
            add(String::new());
        }
        for path in rid_assets(library, rids) {
            add(parent(path).to_string());
        }
    }
    Ok(dirs)
}

/// The native `runtimeTargets` of one library for its best RID.
fn rid_assets<'a>(library: &'a Value, rids: &[String]) -> Vec<&'a str> {
    let Some(targets) = library.get("runtimeTargets").and_then(Value::as_object) else {
        return Vec::new();
    };
    let native = |rid: &str| -> Vec<&'a str> {
        targets
            .iter()
            .filter(|(_, v)| {
                v.get("assetType").and_then(Value::as_str) == Some("native")
                    && v.get("rid").and_then(Value::as_str) == Some(rid)
            })
            .map(|(k, _)| k.as_str())
            .collect()
    };
    rids.iter()
        .map(|rid| native(rid))
        .find(|assets| !assets.is_empty())
        .unwrap_or_default()
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_config_gives_version_and_invariant_mode() {
        let c = runtime_config(
            br#"{"runtimeOptions":{"tfm":"net8.0","framework":{"name":"Microsoft.NETCore.App","version":"8.0.0"},
                "configProperties":{"System.Globalization.Invariant":true}}}"#,
        )
        .unwrap();
        assert_eq!(c.dotnet_version().as_deref(), Some("8.0.0"));
        assert!(c.invariant && !c.self_contained);
        let c = runtime_config(br#"{"runtimeOptions":{"tfm":"netcoreapp3.1"}}"#).unwrap();
        assert_eq!(c.dotnet_version().as_deref(), Some("3.1"));
        assert!(!c.invariant);
        assert!(runtime_config(b"{}").is_err());
    }

    #[test]
    fn native_assets_of_the_best_rid_and_plain_ones() {
        let deps = br#"{"runtimeTarget":{"name":".NETCoreApp,Version=v8.0"},
          "targets":{".NETCoreApp,Version=v8.0":{
            "App/1.0.0":{"native":{"libapp.so":{}}},
            "Skia/2.0":{"runtimeTargets":{
               "runtimes/linux-x64/native/libSkiaSharp.so":{"rid":"linux-x64","assetType":"native"},
               "runtimes/linux/native/libSkiaSharp.so":{"rid":"linux","assetType":"native"},
               "runtimes/win-x64/native/libSkiaSharp.dll":{"rid":"win-x64","assetType":"native"}}},
            "Other/1.0":{"runtimeTargets":{
               "runtimes/unix/native/libother.so":{"rid":"unix","assetType":"native"},
               "runtimes/unix/lib/net8.0/Other.dll":{"rid":"unix","assetType":"runtime"}}}}}}"#;
        let dirs = native_asset_dirs(deps, &rid_fallbacks("x64")).unwrap();
        assert_eq!(
            dirs,
            ["", "runtimes/linux-x64/native", "runtimes/unix/native"]
        );
    }
}
