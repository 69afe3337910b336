//! The `lianluo` binary as a user runs it: help, migrate, admin create, demo, and serve on PostgreSQL.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

fn lianluo() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lianluo"));
    // Tests must not pick up a developer's configuration.
    c.env_remove("LIANLUO_DATABASE_URL").env_remove("LIANLUO_CONFIG").env("LIANLUO_LOG", "warn");
    c
}

/// Kills the child process when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a long-running subcommand and waits for the line that announces its URL.
fn start(cmd: Command, marker: &str) -> (Running, String, Vec<String>) {
    start_logging_to(cmd, marker, Stdio::inherit())
}

/// `start` with the server's log (its standard error) going to `log`.
fn start_logging_to(mut cmd: Command, marker: &str, log: Stdio) -> (Running, String, Vec<String>) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(log).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server announces its URL");
        lines.push(line.clone());
        if let Some(pos) = line.find(marker) {
            let url = line[pos + marker.len()..].split_whitespace().next().unwrap().to_string();
            // Let the rest of the banner arrive.
            while let Ok(l) = rx.recv_timeout(Duration::from_millis(300)) {
                lines.push(l);
            }
            return (running, url, lines);
        }
    }
}

#[test]
fn help_explains_every_subcommand() {
    let out = lianluo().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in ["serve", "migrate", "admin", "demo", "bench"] {
        assert!(text.contains(sub), "--help mentions {sub}:\n{text}");
    }
    let out = lianluo().args(["demo", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("--listen") && text.contains("--data-dir") && text.contains("--seed"), "{text}");
}

#[test]
fn migrate_then_admin_create() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = lianluo().args(["migrate", "--data-dir", d]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("lianluo.db").exists());
    let create = |email: &str| {
        lianluo()
            .args([
                "admin",
                "create",
                "--data-dir",
                d,
                "--workspace",
                "Acme 商城",
                "--slug",
                "acme",
                "--name",
                "Ada",
                "--email",
                email,
            ])
            .env("LIANLUO_ADMIN_PASSWORD", "a long enough password")
            .output()
            .unwrap()
    };
    let out = create("ada@acme.example");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ada@acme.example"));
    let again = create("ada@acme.example");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let weak = lianluo()
        .args([
            "admin",
            "create",
            "--data-dir",
            d,
            "--workspace",
            "B",
            "--slug",
            "bee",
            "--name",
            "B",
            "--email",
            "b@b.example",
        ])
        .env("LIANLUO_ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!weak.status.success());
}

#[test]
fn bad_configuration_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lianluo.toml");
    std::fs::write(&file, "listne = \"0.0.0.0:80\"\n").unwrap();
    let out = lianluo().args(["migrate", "--config", file.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listne"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn sign_in(client: &reqwest::Client, url: &str, email: &str, password: &str) -> (String, Value) {
    let res = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    (cookie, res.json().await.unwrap())
}

#[tokio::test]
async fn demo_serves_a_workspace_you_can_sign_in_to() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    // A short job lease, so that work a killed server left behind is taken over within a second.
    let config = dir.path().join("lianluo.toml");
    std::fs::write(&config, "[server]\njob_lease_secs = 1\n").unwrap();
    // The embedded models, where `lianluo demo` looks for them (under its data directory).
    let models =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/models").canonicalize().unwrap();
    std::os::unix::fs::symlink(&models, dir.path().join("models")).unwrap();
    let mut cmd = lianluo();
    cmd.env("LIANLUO_CONFIG", &config).args(["demo", "--listen", "127.0.0.1:0", "--data-dir", &d]);
    let (running, url, banner) = start(cmd, "URL:");
    let banner = banner.join("\n");
    assert!(banner.contains("admin@lumio.example / lumio-demo-2026"), "{banner}");

    let client = http_client();
    let (cookie, login) = sign_in(&client, &url, "admin@lumio.example", "lumio-demo-2026").await;
    assert_eq!(login["workspace"]["slug"], "lumio-demo");
    let get = |path: &str| {
        let (client, cookie) = (client.clone(), cookie.clone());
        let url = format!("{url}{path}");
        async move {
            client.get(url).header("cookie", cookie).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let page = get("/api/v1/conversations?limit=100").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 100);
    assert!(page["next_cursor"].is_string(), "thousands of conversations");
    let open = get("/api/v1/conversations?status=open&limit=100").await;
    assert!(!open["items"].as_array().unwrap().is_empty());
    let channels = get("/api/v1/channels").await;
    assert!(channels["items"].as_array().unwrap().len() >= 6, "web shop and social channels");
    let id = page["items"][0]["id"].as_str().unwrap();
    let thread = get(&format!("/api/v1/conversations/{id}/messages")).await;
    assert!(!thread["items"].as_array().unwrap().is_empty());
    let zh = get("/api/v1/conversations?tag=zh&limit=1").await;
    let en = get("/api/v1/conversations?tag=en&limit=1").await;
    assert_eq!(
        (zh["items"].as_array().unwrap().len(), en["items"].as_array().unwrap().len()),
        (1, 1),
        "both languages"
    );
    let (_, agent) = sign_in(&client, &url, "xiaoyu.lin@lumio.example", "lumio-demo-2026").await;
    assert_eq!(agent["user"]["role"], "agent");
    // The demo shop page carries the widget of the demo's web-widget channel, and the widget answers.
    assert!(banner.contains("/demo/shop"), "{banner}");
    let shop = client.get(format!("{url}/demo/shop")).send().await.unwrap().text().await.unwrap();
    let token = shop.split("data-channel=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(token.starts_with("wc_"), "{shop}");
    let js = client.get(format!("{url}/widget.js")).send().await.unwrap();
    assert_eq!(js.headers()["content-type"], "application/javascript; charset=utf-8");
    let session: Value = client
        .post(format!("{url}/widget/v1/sessions"))
        .json(&json!({"channel": token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(session["visitor_token"].as_str().unwrap().starts_with("vt_"));

    // Mining the demo's resolved conversations runs as a background job; the server is killed (SIGKILL)
    // in the middle of it.
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let mine = client
        .post(format!("{url}/api/v1/kb/candidates/mine"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({ "conversations": 200 }))
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), 202);
    let job_id = mine.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_string();
    let started = Instant::now();
    loop {
        let run = get("/api/v1/kb/candidates/mine").await;
        if run["state"] == "running" && run["conversations_read"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(run["state"] == "queued" || run["state"] == "running", "{run}");
        assert!(started.elapsed() < Duration::from_secs(60), "mining did not start: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(running);

    // A second run finds the demo and serves it unchanged, and finishes the interrupted mining.
    let mut cmd = lianluo();
    cmd.env("LIANLUO_CONFIG", &config).args(["demo", "--listen", "127.0.0.1:0", "--data-dir", &d]);
    let (_running, url, banner) = start(cmd, "URL:");
    assert!(banner.join("\n").contains("already set up"));
    let (cookie, _) = sign_in(&client, &url, "admin@lumio.example", "lumio-demo-2026").await;
    let ready = client.get(format!("{url}/readyz")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(ready.json::<Value>().await.unwrap()["storage"], "sqlite");
    let get = |path: &str| {
        let (client, cookie) = (client.clone(), cookie.clone());
        let url = format!("{url}{path}");
        async move {
            client.get(url).header("cookie", cookie).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let started = Instant::now();
    let job = loop {
        let job = get(&format!("/api/v1/jobs/{job_id}")).await;
        if job["state"] == "done" {
            break job;
        }
        assert!(job["state"] == "running" || job["state"] == "pending", "{job}");
        assert!(started.elapsed() < Duration::from_secs(300), "the interrupted mining did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(job["attempts"], 2, "the restarted server took the job over: {job}");
    assert!(job["progress"]["conversations_read"].as_u64().unwrap() > 0, "{job}");
    assert_eq!(job["progress"]["conversations_read"], job["result"]["conversations"], "{job}");
    let run = get("/api/v1/kb/candidates/mine").await;
    assert_eq!(run["state"], "done", "{run}");
    let candidates = get("/api/v1/kb/candidates").await;
    assert!(!candidates["items"].as_array().unwrap().is_empty(), "{run}");
}

#[tokio::test]
async fn serve_uses_postgres_when_the_url_says_so() {
    let base = std::env::var("LIANLUO_TEST_DATABASE_URL")
        .expect("LIANLUO_TEST_DATABASE_URL must name a PostgreSQL database (scripts/test sets it)");
    let schema = format!("cli_{}", uuid::Uuid::now_v7().simple());
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");

    let out = lianluo()
        .args([
            "admin",
            "create",
            "--workspace",
            "PG Shop",
            "--slug",
            "pg-shop",
            "--name",
            "Pat",
            "--email",
            "pat@pg.example",
        ])
        .env("LIANLUO_DATABASE_URL", &url)
        .env("LIANLUO_ADMIN_PASSWORD", "a long enough password")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut cmd = lianluo();
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("LIANLUO_DATABASE_URL", &url);
    let (running, http, _) = start(cmd, "listening on ");
    let http = http.trim_end_matches('/').to_string();
    let web = http_client();
    let ready: Value = web.get(format!("{http}/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["storage"], "postgres");
    let (_, login) = sign_in(&web, &http, "pat@pg.example", "a long enough password").await;
    assert_eq!(login["workspace"]["slug"], "pg-shop");
    drop(running);
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
}

/// An HTTP client; the workspace's reqwest uses the TLS provider the process installs.
#[tokio::test]
async fn models_are_found_under_the_data_directory_from_anywhere() {
    let models =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/models").canonicalize().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let serve = || {
        let mut cmd = lianluo();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
            .env_remove("LIANLUO_MODELS_DIR")
            .current_dir(elsewhere.path());
        start(cmd, "listening on ")
    };
    let web = http_client();
    // No models under the data directory: the inbox serves, and readiness says what is missing.
    let (running, http, _) = serve();
    let ready: Value =
        web.get(format!("{}/readyz", http.trim_end_matches('/'))).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["knowledge"].as_str()),
        (Some("degraded"), Some("unavailable"))
    );
    drop(running);
    // With them in DATA_DIR/models, the knowledge base loads, whatever the working directory.
    std::os::unix::fs::symlink(&models, data.join("models")).unwrap();
    let (running, http, _) = serve();
    let ready: Value =
        web.get(format!("{}/readyz", http.trim_end_matches('/'))).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["knowledge"].as_str()),
        (Some("ready"), Some("ready")),
        "{ready}"
    );
    drop(running);
}

fn http_client() -> reqwest::Client {
    lianluo_models::install_tls_provider();
    reqwest::Client::new()
}

/// The log a server writes to a file reads as plain text (no colour codes), and the load balancer's
/// health checks are not in it at the default level, while requests are.
#[tokio::test]
async fn the_log_is_plain_text_without_health_checks() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = lianluo();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", dir.path().to_str().unwrap()])
        .env("LIANLUO_LOG", "info");
    let (running, http, _) = start_logging_to(cmd, "listening on ", Stdio::from(log));
    let client = http_client();
    for path in ["/healthz", "/readyz", "/api/v1/workspace"] {
        client.get(format!("{http}{path}")).send().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(running);
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!text.contains('\u{1b}'), "no colour codes in a file:\n{text}");
    assert!(text.contains("http.path=/api/v1/workspace") && text.contains("http.status=401"), "{text}");
    assert!(!text.contains("/healthz") && !text.contains("/readyz"), "health checks at DEBUG only:\n{text}");
}
