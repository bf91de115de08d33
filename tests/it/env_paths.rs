//! `function::env-path`: an `env` value naming an `/opt` path that none of the function's layers
//! ships.

use crate::common::*;

fn fixture(env: &str, extra: &str) -> Fixture {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libfonts.so.1", "libfonts.so.1", "glyph");
    fx.write_root("/etc/fonts/fonts.conf", "<fontconfig/>\n");
    fx.spec(&format!(
        "layer \"fonts\" {{\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libfonts.so.1\"\n{extra}}}\n\
         function \"Api\" {{\n    layer \"fonts\"\n    env \"{env}\"\n}}\n"
    ));
    fx
}

fn codes(fx: &Fixture) -> Vec<String> {
    fx.analyze()
        .diagnostics
        .iter()
        .map(|d| d.code.as_str().to_string())
        .collect()
}

#[test]
fn an_opt_path_no_layer_ships_is_a_warning() {
    let fx = fixture("FONTCONFIG_PATH\" \"/opt/etc/fonts", "");
    assert_eq!(codes(&fx), ["function::env-path"]);
    let a = fx.analyze();
    assert!(
        a.diagnostics[0]
            .message
            .contains("FONTCONFIG_PATH=/opt/etc/fonts")
    );
    // Shipping the folder (or a file under it) satisfies it.
    let fx = fixture(
        "FONTCONFIG_PATH\" \"/opt/etc/fonts",
        "    file \"/etc/fonts/fonts.conf\" to=\"etc/fonts/fonts.conf\"\n",
    );
    assert_eq!(codes(&fx), Vec::<String>::new());
    // Each part of a list is checked; paths outside /opt are not layerc's business.
    let fx = fixture("MY_PATH\" \"/var/task/bin:/opt/lib:/opt/share/x", "");
    let a = fx.analyze();
    assert_eq!(a.diagnostics.len(), 1, "{:?}", a.diagnostics);
    assert!(
        a.diagnostics[0].message.ends_with("ships /opt/share/x"),
        "{}",
        a.diagnostics[0].message
    );
}
