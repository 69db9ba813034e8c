//! What `orderflow serve` and `orderflow-worker` refuse to start on: no configuration file,
//! and any of the public dev credentials. Both must exit at once, before they connect to
//! anything, with a message that says what to fix.

use orderflow_config::{Settings, SupplierSettings};
use orderflow_devstack::StackCredentials;
use orderflow_tests::binary;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `program args` with `config` as `ORDERFLOW_CONFIG` (none when `None`); it must exit
/// by itself within 20 s.
fn run(program: &str, args: &[&str], config: Option<&Settings>) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(binary(program));
    cmd.args(args)
        .env_remove("ORDERFLOW_CONFIG")
        .env_remove("ORDERFLOW_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(settings) = config {
        let path = dir.path().join("config.json");
        std::fs::write(&path, serde_json::to_vec(settings).unwrap()).unwrap();
        cmd.env("ORDERFLOW_CONFIG", path);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{program} {args:?} did not exit by itself");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn refused(output: &Output) -> String {
    assert!(!output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const PROCESSES: [(&str, &[&str]); 2] = [
    ("orderflow", &["serve", "--port", "0"]),
    ("orderflow-worker", &[]),
];

#[test]
fn serve_and_the_worker_need_a_configuration_file() {
    for (program, args) in PROCESSES {
        let stderr = refused(&run(program, args, None));
        assert!(
            stderr.contains("ORDERFLOW_CONFIG is not set"),
            "{program}: {stderr}"
        );
        assert!(stderr.contains("orderflow dev"), "{program}: {stderr}");
    }
}

#[test]
fn serve_and_the_worker_refuse_every_dev_credential() {
    for (program, args) in PROCESSES {
        let stderr = refused(&run(program, args, Some(&Settings::dev())));
        for named in [
            "tenant 'acme'",
            "tenant 'globex'",
            "operator_token_sha256",
            "supplier 'sim'",
            "webhook_key",
        ] {
            assert!(
                stderr.contains(named),
                "{program} did not name {named}: {stderr}"
            );
        }
        // The refusal names the credentials, never their values.
        assert!(!stderr.contains("dev-sim-secret"), "{stderr}");
    }
}

#[test]
fn one_dev_secret_among_real_credentials_is_enough_to_refuse() {
    let credentials = StackCredentials::generate();
    let settings = credentials.apply(Settings {
        suppliers: vec![SupplierSettings {
            id: "s1".into(),
            base_url: "https://s1.example".into(),
            secret: orderflow_config::DEV_SIM_SECRET.into(),
            concurrent_amendments: false,
            peppol: None,
        }],
        ..Settings::default()
    });
    for (program, args) in PROCESSES {
        let stderr = refused(&run(program, args, Some(&settings)));
        assert!(
            stderr.contains("the secret of supplier 's1'"),
            "{program}: {stderr}"
        );
        assert!(!stderr.contains("tenant"), "{program}: {stderr}");
    }
}
