//! Where webhooks may go (docs/security.md), on real stacks of their own,
//! since each needs settings the shared stack does not have:
//!
//! - `egress-strict`: an API with the production defaults (https only, no private networks);
//! - `egress-rebind`: an API that allows loopback receivers and workers that do not, which is
//!   what a name rebound to 127.0.0.1 after its registration looks like to the dispatcher;
//!   the webhook cap is 3 there;
//! - `egress-fair`: the test defaults, for a tenant whose receivers tarpit.

use super::*;
use orderflow_config::Settings;
use std::sync::atomic::AtomicBool;

static STRICT: OnceCell<Stack> = OnceCell::const_new();
static REBIND: OnceCell<Stack> = OnceCell::const_new();
static FAIR: OnceCell<Stack> = OnceCell::const_new();

const CAP: usize = 3;

/// The stack in `cell`, started with its own settings for the APIs and the workers.
async fn stack_with(
    cell: &'static OnceCell<Stack>,
    name: &str,
    api: fn(&mut Settings),
    worker: fn(&mut Settings),
) -> &'static Stack {
    let options = StackOptions {
        api_settings: Some(api),
        worker_settings: Some(worker),
        ..StackOptions::default()
    };
    cell.get_or_init(|| Stack::start_with(name, options)).await
}

async fn strict_stack() -> &'static Stack {
    fn production(s: &mut Settings) {
        s.webhook_allow_http = false;
        s.webhook_allow_private_networks = false;
    }
    stack_with(&STRICT, "egress-strict", production, production).await
}

async fn rebind_stack() -> &'static Stack {
    fn capped(s: &mut Settings) {
        s.max_webhooks_per_tenant = CAP;
    }
    fn no_private_networks(s: &mut Settings) {
        s.webhook_allow_private_networks = false;
    }
    stack_with(&REBIND, "egress-rebind", capped, no_private_networks).await
}

async fn register(client: &ApiClient, url: &str) -> Reply {
    let body = json!({ "url": url, "topics": ["*"], "secret": "a-secret-of-enough-length" });
    client.post("/v1/webhooks", &body).await.unwrap()
}

#[track_caller]
fn assert_not_allowed(reply: &Reply, url: &str, says: &str) {
    assert_eq!(
        (reply.status.as_u16(), code(reply)),
        (422, "URL_NOT_ALLOWED"),
        "{url}: {}",
        reply.body
    );
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{url}: {message}");
    assert_eq!(reply.body["error"]["details"]["fields"][0]["field"], "url");
}

/// With the production defaults: metadata, mapped, unspecified and loopback destinations
/// (literal or by name) and plain http are refused at registration, and nothing is stored.
#[tokio::test]
async fn production_defaults_refuse_internal_destinations_and_plain_http() {
    let acme = strict_stack().await.acme();
    for (url, says) in [
        (
            "https://169.254.169.254/latest/meta-data",
            "169.254.169.254",
        ),
        ("https://[::ffff:169.254.169.254]/", "169.254.169.254"),
        ("https://[fd00:ec2::254]/", "fd00:ec2::254"),
        ("https://0.0.0.0/", "0.0.0.0"),
        ("https://127.0.0.1/hook", "127.0.0.1"),
        ("https://10.1.2.3/hook", "10.1.2.3"),
        ("https://localhost/hook", "publicly reachable"),
        ("https://does-not-exist.invalid/hook", "does not resolve"),
        ("http://hooks.example.com/h", "https://"),
        ("http://169.254.169.254/latest/meta-data", "https://"),
    ] {
        assert_not_allowed(&register(&acme, url).await, url, says);
    }
    let stored = acme.get("/v1/webhooks").await.unwrap();
    assert_eq!(stored.body["webhooks"], json!([]), "{}", stored.body);
}

/// Even where loopback and plain http are allowed, link-local (metadata), unspecified and
/// multicast destinations, in every spelling, are refused.
#[tokio::test]
async fn metadata_and_unspecified_addresses_are_refused_whatever_the_settings() {
    let acme = rebind_stack().await.acme();
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::169.254.169.254]/",
        "http://[fd00:ec2::254]/latest/meta-data",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://224.0.0.1/",
    ] {
        assert_not_allowed(&register(&acme, url).await, url, "may not be sent to");
    }
}

/// The API accepted a loopback receiver, by name and as a literal; the workers refuse to
/// send there: each delivery fails with the category `url_not_allowed`, nothing reaches the
/// receiver, and no library text is stored.
#[tokio::test]
async fn a_destination_refused_at_send_time_fails_as_url_not_allowed() {
    let stack = rebind_stack().await;
    let acme = stack.acme();
    let r = receiver("a-secret-of-enough-length", 0).await;
    let by_name = r.url.replace("127.0.0.1", "localhost");
    let mut hooks = Vec::new();
    for url in [by_name.as_str(), r.url.as_str()] {
        let reply = register(&acme, url).await;
        assert_eq!(reply.status, 201, "{url}: {}", reply.body);
        hooks.push(reply.body["webhook_id"].as_str().unwrap().to_string());
    }
    let id = new_id("egress-rebind");
    submit(&acme, &order(&id, &[("sim.steps", "1")])).await;
    let start = Instant::now();
    for hook in &hooks {
        loop {
            let all = deliveries(&acme, hook).await;
            let refused = all
                .iter()
                .find(|d| d["attempts"].as_i64().unwrap_or(0) >= 1);
            if let Some(d) = refused {
                assert_eq!(d["last_error"], "url_not_allowed", "{d}");
                assert_eq!(d["last_status_code"], Value::Null, "{d}");
                assert_eq!(d["status"], "PENDING", "retried until the window ends: {d}");
                break;
            }
            assert!(start.elapsed() < T, "no attempt at {hook}: {all:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(r.all().is_empty(), "a refused receiver got {:?}", r.all());
}

/// `max_webhooks_per_tenant` (3 here): one more is 409 `LIMIT_REACHED`, for that tenant
/// only, and deleting one makes room again.
#[tokio::test]
async fn a_tenant_has_at_most_max_webhooks_per_tenant() {
    let globex = rebind_stack().await.globex();
    let mut ids = Vec::new();
    for i in 0..CAP {
        let reply = register(&globex, &format!("http://127.0.0.1:9/hook-{i}")).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        ids.push(reply.body["webhook_id"].as_str().unwrap().to_string());
    }
    let over = register(&globex, "http://127.0.0.1:9/one-more").await;
    assert_eq!(
        (over.status.as_u16(), code(&over)),
        (409, "LIMIT_REACHED"),
        "{}",
        over.body
    );
    assert!(
        over.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("delete one")
    );
    let listed = globex.get("/v1/webhooks").await.unwrap();
    assert_eq!(listed.body["webhooks"].as_array().unwrap().len(), CAP);
    let deleted = globex
        .delete(&format!("/v1/webhooks/{}", ids[0]))
        .await
        .unwrap();
    assert_eq!(deleted.status, 204);
    let again = register(&globex, "http://127.0.0.1:9/one-more").await;
    assert_eq!(again.status, 201, "{}", again.body);
}

/// A listener that accepts connections and never answers; counts them.
#[derive(Clone, Default)]
struct Tarpit {
    open: Arc<AtomicUsize>,
    most_open: Arc<AtomicUsize>,
    /// Set when the dispatcher gives up on a connection (its request timeout).
    closed: Arc<AtomicBool>,
}

impl Tarpit {
    async fn start() -> (Tarpit, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let tarpit = Tarpit::default();
        let t = tarpit.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let t = t.clone();
                let open = t.open.fetch_add(1, Ordering::SeqCst) + 1;
                t.most_open.fetch_max(open, Ordering::SeqCst);
                tokio::spawn(async move {
                    use tokio::io::AsyncReadExt;
                    let mut buf = [0u8; 4096];
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    t.open.fetch_sub(1, Ordering::SeqCst);
                    t.closed.store(true, Ordering::SeqCst);
                });
            }
        });
        (tarpit, url)
    }
}

/// acme's eight receivers tarpit; globex's delivery still arrives before the first of
/// acme's attempts has timed out (10 s), and acme never holds more than its per-tenant
/// share of connections (4).
#[tokio::test]
async fn a_tenant_whose_receivers_tarpit_does_not_delay_another() {
    let stack = FAIR.get_or_init(|| Stack::start("egress-fair")).await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let (tarpit, tarpit_url) = Tarpit::start().await;
    for i in 0..8 {
        let reply = register(&acme, &format!("{tarpit_url}/hook-{i}")).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    submit(&acme, &order(&new_id("tarpitted"), &[("sim.steps", "1")])).await;
    let per_tenant = Settings::default().webhook_max_in_flight_per_tenant;
    let start = Instant::now();
    while tarpit.open.load(Ordering::SeqCst) < per_tenant {
        assert!(
            start.elapsed() < T,
            "acme's deliveries never reached the tarpit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let r = receiver("globex-secret-of-length", 0).await;
    subscribe(&globex, &r, &["*"]).await;
    let id = new_id("beside-tarpit");
    submit(&globex, &order(&id, &[("sim.steps", "1")])).await;
    wait_accepted(&r, &id, 1, T).await;
    assert!(
        !tarpit.closed.load(Ordering::SeqCst),
        "globex's delivery waited for one of acme's tarpitted attempts to time out"
    );
    assert_eq!(tarpit.most_open.load(Ordering::SeqCst), per_tenant);
}
