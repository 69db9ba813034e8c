//! Child processes that never outlive the process that started them: started from one
//! long-lived thread with `PR_SET_PDEATHSIG`, stopped with SIGTERM then SIGKILL.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Stops a child: SIGTERM, then SIGKILL if it has not exited within `grace`.
pub fn terminate(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let start = Instant::now();
    while start.elapsed() < grace {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Has the kernel kill the child if the thread that spawned it dies, so a crashed parent
/// never leaves a server behind.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Spawns children from one thread that lives as long as the process. `PR_SET_PDEATHSIG`
/// fires when the *thread* that spawned a child exits, and a tokio worker thread may exit at
/// any time; this one never does, so children die with the process and only then.
pub struct Supervisor {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("supervisor".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
                // Keep the thread (the children's parent) alive after the sender is gone.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawning the supervisor thread");
        Supervisor {
            jobs: std::sync::Mutex::new(tx),
        }
    }

    /// Runs `f` on the supervisor thread (to start a [`DevServer`] there, say).
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        self.jobs
            .lock()
            .unwrap()
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .expect("supervisor alive");
        rx.recv().expect("supervisor answered")
    }

    /// Spawns `cmd` from the supervisor thread, to die with this process.
    pub fn spawn(&self, mut cmd: Command) -> std::io::Result<Child> {
        self.run(move || {
            die_with_parent(&mut cmd);
            cmd.spawn()
        })
    }
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new()
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral port")
}
