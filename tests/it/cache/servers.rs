//! Real servers for the remote-cache tests, started on 127.0.0.1 with throw-away configurations
//! and stopped (by their own process id) when dropped: Garage (an S3-compatible object store, one
//! node or a three-node cluster), Debian's nginx with WebDAV, and a listener that accepts
//! connections and never answers.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::artifacts::or_skip;

/// The access key every Garage of the tests imports (Garage's `GK` + 24 hex digits format).
pub(crate) const KEY_ID: &str = "GK0123456789abcdef01234567";
pub(crate) const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub(crate) const BUCKET: &str = "layers";

/// A port free on 127.0.0.1 at the time of asking.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process stopped on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Garage binary: `$LAYERC_TEST_GARAGE` (what `.ci/run` builds), else the same default
/// place. `None` (after a message) when it is missing outside CI.
fn garage_binary() -> Option<PathBuf> {
    crate::tier::oracle(&[])?;
    let path = std::env::var_os("LAYERC_TEST_GARAGE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/layerc-ci/garage-2.5.0/bin/garage"))
        })
        .filter(|p| p.is_file())
        .ok_or_else(|| "set LAYERC_TEST_GARAGE to a garage 2.5.0 binary".to_string());
    or_skip("garage (the S3-compatible store)", path)
}

/// Garage nodes on loopback: one, or a cluster that replicates every object on all of them.
pub(crate) struct Garage {
    nodes: Vec<Process>,
    /// Each node's S3 endpoint.
    pub endpoints: Vec<String>,
    binary: PathBuf,
    configs: Vec<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Garage {
    /// `count` nodes with `replication_factor = count`, one bucket, one key allowed on it.
    pub(crate) fn start(count: usize) -> Option<Garage> {
        let binary = garage_binary()?;
        let dir = tempfile::tempdir().unwrap();
        let secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let mut garage = Garage {
            nodes: Vec::new(),
            endpoints: Vec::new(),
            binary,
            configs: Vec::new(),
            _dir: dir,
        };
        let mut rpc = Vec::new();
        for n in 0..count {
            let home = garage._dir.path().join(format!("node{n}"));
            std::fs::create_dir_all(&home).unwrap();
            let (rpc_port, s3_port) = (free_port(), free_port());
            let config = home.join("garage.toml");
            std::fs::write(
                &config,
                format!(
                    "metadata_dir = \"{home}/meta\"\ndata_dir = \"{home}/data\"\ndb_engine = \"sqlite\"\n\
                     replication_factor = {count}\nrpc_bind_addr = \"127.0.0.1:{rpc_port}\"\n\
                     rpc_public_addr = \"127.0.0.1:{rpc_port}\"\nrpc_secret = \"{secret}\"\n\n\
                     [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3_port}\"\n",
                    home = home.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(home.join("server.log")).unwrap();
            let child = Command::new(&garage.binary)
                .arg("-c")
                .arg(&config)
                .arg("server")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("garage starts");
            garage.nodes.push(Process(child));
            wait_for_port(s3_port, "garage");
            garage.endpoints.push(format!("http://127.0.0.1:{s3_port}"));
            garage.configs.push(config);
            rpc.push(rpc_port);
        }
        let ids: Vec<String> = (0..count)
            .map(|n| {
                let id = garage.run(n, &["node", "id", "-q"]);
                id.trim().split('@').next().unwrap().to_string()
            })
            .collect();
        for (n, port) in rpc.iter().enumerate().skip(1) {
            garage.run(
                0,
                &["node", "connect", &format!("{}@127.0.0.1:{port}", ids[n])],
            );
        }
        for id in &ids {
            garage.run(0, &["layout", "assign", "-z", "dc1", "-c", "1G", id]);
        }
        garage.run(0, &["layout", "apply", "--version", "1"]);
        garage.run(0, &["key", "import", "--yes", "-n", "test", KEY_ID, SECRET]);
        garage.run(0, &["bucket", "create", BUCKET]);
        garage.run(
            0,
            &[
                "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "test",
            ],
        );
        Some(garage)
    }

    /// Runs a `garage` command against node `n`, retried while the cluster settles.
    fn run(&self, n: usize, args: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let out = Command::new(&self.binary)
                .arg("-c")
                .arg(&self.configs[n])
                .args(args)
                .output()
                .expect("garage runs");
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "garage {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The cache URL of `prefix` on node `n`, with layerc's options for this server.
    pub(crate) fn url(&self, n: usize, prefix: &str) -> String {
        format!(
            "s3://{BUCKET}/{prefix}?endpoint={}&region=garage",
            self.endpoints[n]
        )
    }
}

/// The environment a runner needs for Garage: its key, and no instance metadata lookups.
pub(crate) fn s3_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// Debian's nginx serving a folder with WebDAV's PUT, DELETE and MOVE.
pub(crate) struct Nginx {
    _process: Process,
    pub url: String,
    /// The folder it serves.
    pub root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// `extra` goes into the `server` block (another `location`, say).
    pub(crate) fn start(extra: &str) -> Option<Nginx> {
        crate::tier::oracle(&[])?;
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .ok_or_else(|| "install Debian's nginx (apt-get install nginx-light)".to_string());
        let binary = or_skip("nginx", binary)?;
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path();
        let root = prefix.join("www");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(prefix.join("tmp")).unwrap();
        let port = free_port();
        let conf = format!(
            "daemon off;\nmaster_process off;\nerror_log {p}/error.log;\npid {p}/nginx.pid;\n\
             events {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n\
             proxy_temp_path {p}/tmp;\n  fastcgi_temp_path {p}/tmp;\n  uwsgi_temp_path {p}/tmp;\n\
             scgi_temp_path {p}/tmp;\n  server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
             client_max_body_size 0;\n    location / {{\n      dav_methods PUT DELETE MOVE;\n\
             create_full_put_path on;\n      dav_access user:rw group:r all:r;\n    }}\n{extra}\n  }}\n}}\n",
            p = prefix.display(),
            root = root.display()
        );
        std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-e")
            .arg(prefix.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let process = Process(child);
        wait_for_port(port, "nginx");
        Some(Nginx {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
            root,
            _dir: dir,
        })
    }
}

/// A listener that accepts connections and never answers: a cache that hangs.
pub(crate) struct Silent {
    pub port: u16,
    _listener: TcpListener,
}

impl Silent {
    pub(crate) fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // The kernel completes handshakes into the backlog; nobody ever reads or writes.
        Silent {
            port,
            _listener: listener,
        }
    }
}
