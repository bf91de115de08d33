//! End to end with an editor no one here wrote: Neovim (Debian's 0.7) as the language client.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// The spec of the protocol tests: a runtime typo after `/* é🦀 */` on the same line.
const SPEC: &str = "layer \"fonts\" {
    /* é🦀 */ runtime \"provided.al2O23\"
    rootfs \"rootfs\"
    library \"libhello.so.1\"
}
";

#[test]
fn neovim_shows_the_error_and_clears_it_after_the_fix() {
    let Some(()) = crate::tier::oracle(&["nvim"]) else {
        return;
    };
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    let spec = fx.spec(SPEC);
    let out = fx.path().join("nvim.out");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/nvim_client.lua");
    let mut child = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n"])
        .arg("-c")
        .arg(format!("luafile {script}"))
        .env("LAYERC_SPEC", &spec)
        .env("LAYERC_BIN", env!("CARGO_BIN_EXE_layerc"))
        .env("LAYERC_OUT", &out)
        .env("XDG_STATE_HOME", fx.path().join("state"))
        .env("XDG_CACHE_HOME", fx.path().join("cache"))
        .current_dir(fx.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nvim starts");
    // The script has its own timeouts; this one only guarantees the suite never hangs.
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = std::fs::read_to_string(&out).expect("the script wrote its report");
    let lines: Vec<&str> = report.lines().collect();
    // Neovim keeps byte columns: `    /* é🦀 */ runtime ` is 25 bytes (é 2, 🦀 4); the string is 19.
    assert_eq!(
        lines,
        [
            "before count 1",
            "before 1:25-1:42 spec::unknown-runtime unknown Lambda runtime `provided.al2O23` \
             | help: did you mean `provided.al2023`?",
            "after count 0",
            "exit 0 0",
        ],
        "{report}"
    );
}

/// The "Neovim 0.7 to 0.10" configuration of docs/editors.md, exactly as the page shows it.
fn documented_config() -> String {
    let page = include_str!("../../docs/editors.md");
    let section = page.split("## Neovim 0.7 to 0.10").nth(1).unwrap();
    let block = section.split("```lua\n").nth(1).unwrap();
    block.split("```").next().unwrap().to_string()
}

/// Neovim with the documented configuration opens two specs, waits for a client, and quits; its
/// stderr, its `:messages` and how many clients the second buffer has. `layerc_dir` is put on
/// PATH (none: `layerc` is not there).
fn nvim_with_documented_config(layerc_dir: Option<&std::path::Path>) -> (String, String, String) {
    let fx = Fixture::new();
    let config = fx.write("init.lua", documented_config());
    fx.write("a/layer.kdl", "");
    fx.write("b/layer.kdl", "");
    let path = match layerc_dir {
        Some(dir) => format!("{}:/usr/bin:/bin", dir.display()),
        None => "/usr/bin:/bin".to_string(),
    };
    let out = Command::new("nvim")
        .args(["--headless", "-i", "NONE", "-n", "-u"])
        .arg(&config)
        .args(["-c", "edit a/layer.kdl", "-c", "edit b/layer.kdl"])
        .args([
            "-c",
            "lua vim.wait(10000, function() return #vim.lsp.buf_get_clients(0) > 0 end, 20)",
        ])
        .args([
            "-c",
            "lua vim.fn.writefile({tostring(#vim.lsp.buf_get_clients(0))}, 'clients.txt')",
        ])
        .args([
            "-c",
            "redir! > messages.txt",
            "-c",
            "silent messages",
            "-c",
            "redir END",
        ])
        .args(["-c", "qa!"])
        .env("PATH", path)
        .env("XDG_STATE_HOME", fx.path().join("state"))
        .env("XDG_CACHE_HOME", fx.path().join("cache"))
        .env("XDG_CONFIG_HOME", fx.path().join("config"))
        .current_dir(fx.path())
        .stdin(Stdio::null())
        .output()
        .expect("nvim runs");
    let read = |name: &str| std::fs::read_to_string(fx.path().join(name)).unwrap_or_default();
    (stderr(&out), read("messages.txt"), read("clients.txt"))
}

#[test]
fn the_documented_neovim_07_config_says_once_that_layerc_is_missing() {
    let Some(()) = crate::tier::oracle(&["nvim"]) else {
        return;
    };
    let (err, messages, clients) = nvim_with_documented_config(None);
    let all = format!("{err}\n{messages}");
    assert!(
        !all.contains("stack traceback") && !all.contains("Error"),
        "{all}"
    );
    // Said once, for two specs (headless Neovim also echoes messages on stderr).
    assert_eq!(
        messages.matches("layerc is not on PATH").count(),
        1,
        "{all}"
    );
    assert!(err.matches("layerc is not on PATH").count() <= 1, "{all}");
    assert_eq!(clients.trim(), "0");
    // With layerc on PATH the same configuration attaches both buffers to one client.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_layerc"), bin.path().join("layerc")).unwrap();
    let (err, messages, clients) = nvim_with_documented_config(Some(bin.path()));
    let all = format!("{err}\n{messages}");
    assert!(
        !all.contains("stack traceback") && !all.contains("not on PATH"),
        "{all}"
    );
    assert_eq!(clients.trim(), "1", "{all}");
}
