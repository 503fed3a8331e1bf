//! Scale-out as `deploy/` describes it: Debian's nginx with `deploy/nginx-lpserver.conf` in
//! front of three lpserver processes sharing one real redis-server; lpload runs relying-party
//! sessions through nginx, one lpserver is killed mid-run, and the sessions it held end while
//! the others pass, new sessions land on the live servers, and the attempt counters in Redis
//! count exactly the sessions that were cut.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process stopped when the test ends: SIGTERM (nginx's master then stops its
/// workers; a SIGKILL would leave them behind), SIGKILL if it is still there after 5 s.
struct Process(Child);

impl Process {
    /// Kills the process at once, as a crash would.
    fn crash(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: kill only sends a signal to the child this test started.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lpserver(port: u16, redis_url: &str) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_lpserver"))
            .env("PORT", port.to_string())
            .env("LIVENESS_JWT_SECRET", common::KEY)
            .env("API_KEYS", format!("shop:{}", common::API_KEY))
            .env("REDIS_URL", redis_url)
            .env("CHALLENGE_SEQUENCE", "turn_left,look_up,turn_right")
            .env("MIN_AGE", "0")
            .envs(common::RENDERED_CLIP)
            .env("MAX_CONNECTIONS_PER_IP", "0")
            .stderr(Stdio::null())
            .spawn()
            .expect("lpserver runs"),
    )
}

/// Debian's nginx on `deploy/nginx-lpserver.conf`, its ports replaced, as an unprivileged
/// foreground process with everything it writes in `dir`.
fn nginx(dir: &Path, listen: u16, upstreams: &[u16]) -> Process {
    let mut site = std::fs::read_to_string(common::root().join("deploy/nginx-lpserver.conf")).unwrap();
    site = site.replace("listen 127.0.0.1:8080;", &format!("listen 127.0.0.1:{listen};"));
    for (n, port) in upstreams.iter().enumerate() {
        site = site.replace(&format!("127.0.0.1:{}", 5101 + n), &format!("127.0.0.1:{port}"));
    }
    std::fs::write(dir.join("lpserver.conf"), site).unwrap();
    let temp = |name: &str| {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).unwrap();
        path.display().to_string()
    };
    let main = format!(
        "daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {body};\n  proxy_temp_path {proxy};\n\
           fastcgi_temp_path {fastcgi};\n  uwsgi_temp_path {uwsgi};\n  scgi_temp_path {scgi};\n\
           include {dir}/lpserver.conf;\n}}\n",
        dir = dir.display(),
        body = temp("body"),
        proxy = temp("proxy"),
        fastcgi = temp("fastcgi"),
        uwsgi = temp("uwsgi"),
        scgi = temp("scgi"),
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let nginx = ["/usr/sbin/nginx", "nginx"]
        .into_iter()
        .find(|n| Command::new(n).arg("-v").output().is_ok())
        .expect("nginx is installed (apt-get install nginx)");
    let mut command = Command::new(nginx);
    command.arg("-p").arg(dir).arg("-c").arg(dir.join("nginx.conf")).stderr(Stdio::null());
    // As root, nginx's worker would switch to an unprivileged user that cannot write `dir`.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        command.arg("-g").arg("user root;");
    }
    Process(command.spawn().expect("nginx runs"))
}

/// lpload through nginx as the relying party; its report.
async fn lpload(url: String, sessions: usize) -> String {
    let args = [
        "--url".to_string(),
        url,
        "--sessions".into(),
        sessions.to_string(),
        "--fps".into(),
        "7".into(),
        "--ramp-ms".into(),
        "300".into(),
        "--api-key".into(),
        common::API_KEY.into(),
    ];
    let output = tokio::task::spawn_blocking(move || Command::new(common::workspace_bin("lpload")).args(args).output())
        .await
        .unwrap()
        .expect("lpload runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// How many sessions of `report` ended as `outcome`.
fn ended(report: &str, outcome: &str) -> usize {
    report
        .lines()
        .filter_map(|l| l.strip_prefix("sessions: "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, o)| *o == outcome)
        .filter_map(|(n, _)| n.parse::<usize>().ok())
        .sum()
}

async fn ready(address: SocketAddr) -> Option<serde_json::Value> {
    let (status, body) = common::http(address, "GET", "/ready", b"").await;
    (status == 200).then(|| serde_json::from_slice(&body).ok()).flatten()
}

/// The strikes of every user in Redis, summed.
fn strikes_in_redis(url: &str) -> u64 {
    let mut redis = redis::Client::open(url).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("lpserver:attempts:*").query(&mut redis).unwrap();
    keys.iter()
        .map(|key| {
            let state: Option<String> = redis::cmd("HGET").arg(key).arg("state").query(&mut redis).unwrap();
            let state: serde_json::Value = serde_json::from_str(&state.unwrap_or_default()).unwrap_or_default();
            state["strikes"].as_u64().unwrap_or(0)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_behind_nginx_lose_one_and_carry_on() {
    let (_redis, url) = common::RedisServer::start();
    let ports: Vec<u16> = (0..3).map(|_| common::free_port()).collect();
    let mut servers: Vec<Option<Process>> = ports.iter().map(|p| Some(lpserver(*p, &url))).collect();
    let addresses: Vec<SocketAddr> = ports.iter().map(|p| SocketAddr::from(([127, 0, 0, 1], *p))).collect();
    for address in &addresses {
        assert!(common::wait_listening(*address).await, "lpserver on {address}");
    }
    let dir = common::scratch("deploy-nginx");
    let front = common::free_port();
    let _nginx = nginx(&dir, front, &ports);
    let front_address = SocketAddr::from(([127, 0, 0, 1], front));
    assert!(common::wait_listening(front_address).await, "nginx listens");
    let url_front = format!("ws://{front_address}/lpproto");

    // Two sessions through nginx (least connections: on two servers); a few seconds in, a
    // server holding one is killed.
    let run = tokio::spawn(lpload(url_front.clone(), 2));
    let deadline = Instant::now() + Duration::from_secs(60);
    let victim = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut holding = None;
        for (n, address) in addresses.iter().enumerate() {
            let sessions = ready(*address).await.and_then(|r| r["sessions"].as_u64()).unwrap_or(0);
            if sessions > 0 {
                holding = Some((n, sessions));
            }
        }
        match holding {
            Some(found) => break found,
            None => assert!(Instant::now() < deadline, "no session reached a server"),
        }
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = ready(addresses[victim.0]).await.and_then(|r| r["sessions"].as_u64()).unwrap_or(0) as usize;
    if let Some(server) = servers[victim.0].take() {
        server.crash();
    }
    let report = run.await.unwrap();
    println!("{report}");
    // Its sessions were cut; every other passed.
    assert_eq!(ended(&report, "socket closed"), held, "{report}");
    assert_eq!(ended(&report, "SUCCESS"), 2 - held, "{report}");
    // A cut session keeps the strike it reserved; a passed one left none.
    assert_eq!(strikes_in_redis(&url), held as u64, "the counters in Redis");

    // New sessions land on the two live servers and pass.
    let report = lpload(url_front, 2).await;
    println!("{report}");
    assert_eq!(ended(&report, "SUCCESS"), 2, "{report}");
    assert_eq!(strikes_in_redis(&url), held as u64);
    let _ = std::fs::remove_dir_all(&dir);
}
