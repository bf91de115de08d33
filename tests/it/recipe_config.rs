//! Configuration layers used for real: a recipe's zip unpacked into a folder standing for /opt, and
//! the function's environment (with /opt mapped to it) given to the real consumer: fontconfig's
//! `fc-match` and MIT Kerberos's libkrb5 (through Python's ctypes).

use std::fs;
use std::process::Command;

use crate::common::*;
use crate::recipes::{build_entries, recipe, recipe_as_written};

/// Unpacks the built `<layer>.zip` into `<fixture>/opt`, as Lambda unpacks a layer at /opt, and
/// returns that folder with `MyFunction`'s environment from the fragment, `/opt` mapped to it.
fn unpack_layer(fx: &Fixture, layer: &str) -> (String, Vec<(String, String)>) {
    let opt = fx.path().join("opt");
    let zip = fx.path().join(format!("build/{layer}.zip"));
    let unzip = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&opt)
        .status()
        .unwrap();
    assert!(unzip.success());
    let opt = opt.to_str().unwrap().to_string();
    let fragment = fs::read_to_string(fx.path().join("build/serverless.template.json")).unwrap();
    let fragment: serde_json::Value = serde_json::from_str(&fragment).unwrap();
    let vars = fragment["Resources"]["MyFunction"]["Properties"]["Environment"]["Variables"]
        .as_object()
        .expect("MyFunction has environment variables");
    let env = vars
        .iter()
        .filter(|(name, _)| *name != "LD_LIBRARY_PATH")
        .map(|(name, v)| (name.clone(), v.as_str().unwrap().replacen("/opt", &opt, 1)))
        .collect();
    (opt, env)
}

/// The layer's configuration loads with the function's FONTCONFIG_* variables: the real
/// fontconfig (`fc-match`) reads fonts.conf and the conf.d files from the layer and nothing from the
/// host's /etc/fonts. The recipe as written, from its Debian 11 packages.
#[test]
fn fontconfig_configuration_loads_from_the_layer() {
    let Some((fx, _)) = recipe_as_written("fontconfig-freetype") else {
        return;
    };
    let entries = build_entries(&fx);
    assert!(entries.contains(&"lib/libfontconfig.so.1".to_string()));
    let (opt, env) = unpack_layer(&fx, "fontconfig-freetype");
    let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["FONTCONFIG_PATH", "FONTCONFIG_FILE"]);
    let out = Command::new("fc-match")
        .arg("sans")
        .env("FC_DEBUG", "1024")
        .envs(env)
        .output()
        .expect("fc-match runs (apt-get install fontconfig)");
    let log = stdout(&out);
    assert!(!stderr(&out).contains("Cannot load"), "{}", stderr(&out));
    let loaded: Vec<&str> = log
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Loading config file from "))
        .filter(|l| !l.ends_with(" done"))
        .collect();
    assert_eq!(
        loaded.first().copied(),
        Some(&*format!("{opt}/etc/fonts/fonts.conf"))
    );
    assert!(loaded.len() > 10, "{log}");
    for file in &loaded {
        assert!(file.starts_with(&opt), "{file} is not from the layer");
    }
}

/// MIT Kerberos's default realm, read by the host's real libkrb5 through Python's ctypes, with the
/// given environment; or its error message.
fn krb5_default_realm(env: &[(String, String)]) -> String {
    let script = "import ctypes\n\
        k = ctypes.CDLL('libkrb5.so.3')\n\
        k.krb5_get_error_message.restype = ctypes.c_char_p\n\
        ctx = ctypes.c_void_p()\n\
        assert k.krb5_init_context(ctypes.byref(ctx)) == 0\n\
        realm = ctypes.c_char_p()\n\
        rc = k.krb5_get_default_realm(ctx, ctypes.byref(realm))\n\
        print(realm.value.decode() if rc == 0 else k.krb5_get_error_message(ctx, rc).decode())\n";
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .envs(env.iter().cloned())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "libkrb5.so.3 (apt-get install libkrb5-3): {}",
        stderr(&out)
    );
    stdout(&out).trim().to_string()
}

/// KRB5_CONFIG on the function makes Kerberos read the layer's krb5.conf; without a configuration
/// it fails with the message specs/README.md quotes.
#[test]
fn krb5_configuration_gives_the_default_realm() {
    let Some((fx, _)) = recipe("krb5-gssapi", &[]) else {
        return;
    };
    build_entries(&fx);
    let (opt, env) = unpack_layer(&fx, "krb5-gssapi");
    assert_eq!(
        env,
        [("KRB5_CONFIG".to_string(), format!("{opt}/etc/krb5.conf"))]
    );
    assert_eq!(krb5_default_realm(&env), "EXAMPLE.COM");
    let none = [("KRB5_CONFIG".to_string(), format!("{opt}/missing.conf"))];
    assert_eq!(
        krb5_default_realm(&none),
        "Configuration file does not specify default realm"
    );
}
