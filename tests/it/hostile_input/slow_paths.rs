//! Inputs that were slow only through repeated work: "did you mean" for many missing libraries
//! (one name index per rootfs generation), DT_RPATH inherited down a long chain (a set).

use super::*;

#[test]
fn many_missing_libraries_share_one_name_index() {
    let fx = Fixture::new();
    for i in 0..400 {
        fx.write_root(&format!("/usr/lib64/libthing{i}.so.1"), "");
    }
    let mut spec =
        String::from("layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n");
    for i in 0..5000 {
        spec.push_str(&format!("    library \"libthinq{i}.so.1\"\n"));
    }
    spec.push_str("}\n");
    fx.spec(&spec);
    let out = layerc_bounded(fx.path(), &["check"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("did you mean `libthing0.so.1`?"), "{err}");
    assert!(err.contains("5000 error(s), 0 warning(s)"), "{err}");
}

#[test]
fn the_name_index_sees_a_library_added_between_two_analyses() {
    let fx = Fixture::new();
    fx.write_root("/usr/lib64/libother.so.1", "");
    fx.spec("layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libpng16.so.16\"\n}\n");
    let session = layerc::Session::default();
    let text = std::fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
    let analyze = || {
        let source = layerc::diagnostic::SourceFile::new("layer.kdl", text.as_str());
        session.analyze(source, fx.path(), TODAY)
    };
    let help = |a: &layerc::Analysis| a.diagnostics[0].help.clone().unwrap();
    assert!(!help(&analyze()).contains("did you mean"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    fx.write_root("/usr/lib64/libpng16.so.16.40.0", "");
    assert!(help(&analyze()).contains("did you mean `libpng16.so.16.40.0`?"));
}

#[test]
fn a_long_chain_of_long_rpaths_is_searched_once_per_folder() {
    let fx = Fixture::new();
    let rpath: Vec<String> = (0..2000).map(|i| format!("/r/{i}")).collect();
    let rpath = format!("-Wl,-rpath,{}", rpath.join(":"));
    let levels = 30;
    fx.lib(
        &format!("/usr/lib64/libl{levels}.so.1"),
        &format!("libl{levels}.so.1"),
        &format!("l{levels}"),
    );
    for i in (0..levels).rev() {
        let next = format!("/usr/lib64/libl{}.so.1", i + 1);
        fx.cc_lib(
            &format!("/usr/lib64/libl{i}.so.1"),
            &format!("libl{i}.so.1"),
            &c_calls(&format!("l{i}"), &format!("l{}", i + 1)),
            &[&next],
            &["-Wl,--disable-new-dtags", &rpath],
        );
    }
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libl0.so.1"));
    let out = layerc_bounded(fx.path(), &["graph", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shipped = graph["layers"][0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["status"] == "shipped")
        .count();
    assert_eq!(shipped, levels + 1);
}

#[test]
fn a_file_request_of_a_hundred_thousand_files_is_planned_without_comparing_every_pair() {
    // Quadratic planning took minutes here (194 s); the check must end well within the bound.
    let fx = Fixture::new();
    for dir in 0..100 {
        let folder = fx.root(&format!("/data/d{dir}"));
        std::fs::create_dir_all(&folder).unwrap();
        for i in 0..1000 {
            std::fs::write(folder.join(format!("f{i}.txt")), "x\n").unwrap();
        }
    }
    // One file where a folder must be: still found among them.
    fx.write_root("/more/data/d7", "a file named like a folder\n");
    fx.spec("layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    file \"/data\" to=\"data\"\n    file \"/more/data/d7\" to=\"data/d7/f0.txt/x\"\n}\n");
    let out = layerc_bounded(fx.path(), &["check"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("data/d7/f0.txt would be a file and also the folder holding data/d7/f0.txt/x"),
        "{err}"
    );
    assert_eq!(err.matches("spec::path-conflict").count(), 1, "{err}");
}
