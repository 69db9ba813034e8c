//! Durable state: an append-only JSON-lines journal replayed at start-up.
//!
//! Every change is one [`Entry`]; the in-memory [`State`] is exactly the fold of the journal.
//! Appending (instead of rewriting a snapshot) keeps each call O(1) even when a benchmark sends
//! thousands of calls. Entries that belong to one supplier call are written with a single
//! `write` so that a crash cannot leave, say, a stored answer without the callback it promised.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::warn;

const JOURNAL_FILE: &str = "journal.jsonl";

/// One call received on the supplier interface, as listed by `GET /admin/calls`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallRecord {
    pub method: String,
    pub path: String,
    /// `tenant:order` form; `None` when it could not be determined (e.g. malformed transfer).
    pub order_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub status: u16,
    /// True when the stored answer for a repeated idempotency key was returned.
    pub replayed: bool,
    /// RFC 3339 time the call was answered.
    pub at: String,
}

/// The answer stored for one idempotency scope and replayed verbatim on repeats.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Value,
}

/// One journal line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// The latest order document received by a transfer.
    Order { id: String, order: Value },
    /// Step `step` of order `id` has been called (drives the point of no return).
    StepStarted { id: String, step: u32 },
    /// The answer for an idempotency scope.
    Response {
        scope: String,
        status: u16,
        body: Value,
    },
    /// How many simulated 500s an idempotency scope has received so far.
    Flaky { scope: String, failures: u32 },
    /// A callback put in the outbox, to be delivered from `due_ms` (unix milliseconds) on.
    Callback {
        callback_id: String,
        due_ms: i64,
        body: Value,
    },
    /// A callback left the outbox (delivered, or dropped after a permanent 4xx).
    CallbackDone {
        callback_id: String,
        delivered: bool,
    },
    /// A supplier call, for `GET /admin/calls`.
    Call(CallRecord),
    /// The tenant deactivated (`active: false`) or reactivated a subscription, at `at`.
    Service {
        id: String,
        active: bool,
        at: String,
    },
}

/// A callback waiting in the outbox.
#[derive(Debug)]
pub struct Pending {
    pub body: Value,
    /// Unix milliseconds of the next delivery attempt.
    pub next_ms: i64,
    /// Failed attempts so far (in memory only: after a restart the backoff starts over, which
    /// is what a real supplier's retry queue would do too).
    pub attempts: u32,
    pub in_flight: bool,
}

pub struct State {
    pub orders: HashMap<String, Value>,
    pub responses: HashMap<String, StoredResponse>,
    pub flaky: HashMap<String, u32>,
    pub steps: HashMap<String, BTreeSet<u32>>,
    /// Whether each subscription runs, as the tenant last told (deactivate, reactivate).
    pub services: HashMap<String, bool>,
    pub calls: Vec<CallRecord>,
    outbox: HashMap<String, Pending>,
    /// Outbox items not in flight, ordered by next attempt time, so the worker finds due work
    /// without scanning the whole outbox.
    queue: BTreeSet<(i64, String)>,
    journal: File,
}

impl State {
    /// Opens the journal in `dir` (creating both if needed) and replays it.
    pub fn open(dir: &Path) -> anyhow::Result<State> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(JOURNAL_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        // A crash can leave a torn last line. Cut it off, otherwise the next append would be
        // glued onto it and a good entry would be lost with the torn one.
        let valid_len = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if valid_len < bytes.len() {
            warn!(
                path = %path.display(),
                dropped_bytes = bytes.len() - valid_len,
                "journal ends with an incomplete line; truncating it"
            );
            OpenOptions::new()
                .write(true)
                .open(&path)?
                .set_len(valid_len as u64)?;
        }
        let journal = OpenOptions::new().create(true).append(true).open(&path)?;
        let mut state = State {
            orders: HashMap::new(),
            responses: HashMap::new(),
            flaky: HashMap::new(),
            steps: HashMap::new(),
            services: HashMap::new(),
            calls: Vec::new(),
            outbox: HashMap::new(),
            queue: BTreeSet::new(),
            journal,
        };
        for (n, line) in bytes[..valid_len].split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Entry>(line) {
                Ok(entry) => state.apply(entry),
                Err(e) => warn!(line = n + 1, error = %e, "skipping unreadable journal line"),
            }
        }
        Ok(state)
    }

    /// Appends `entries` to the journal (one write, flushed) and then applies them in memory.
    /// Journal first: if the write fails nothing is applied, so memory never runs ahead of disk.
    pub fn commit(&mut self, entries: Vec<Entry>) -> io::Result<()> {
        let mut buf = Vec::with_capacity(256 * entries.len());
        for entry in &entries {
            serde_json::to_writer(&mut buf, entry)?;
            buf.push(b'\n');
        }
        self.journal.write_all(&buf)?;
        self.journal.flush()?;
        for entry in entries {
            self.apply(entry);
        }
        Ok(())
    }

    fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Order { id, order } => {
                self.orders.insert(id, order);
            }
            Entry::StepStarted { id, step } => {
                self.steps.entry(id).or_default().insert(step);
            }
            Entry::Service { id, active, .. } => {
                self.services.insert(id, active);
            }
            Entry::Response {
                scope,
                status,
                body,
            } => {
                self.flaky.remove(&scope);
                self.responses
                    .insert(scope, StoredResponse { status, body });
            }
            Entry::Flaky { scope, failures } => {
                self.flaky.insert(scope, failures);
            }
            Entry::Callback {
                callback_id,
                due_ms,
                body,
            } => {
                if let Some(old) = self.outbox.insert(
                    callback_id.clone(),
                    Pending {
                        body,
                        next_ms: due_ms,
                        attempts: 0,
                        in_flight: false,
                    },
                ) {
                    self.queue.remove(&(old.next_ms, callback_id.clone()));
                }
                self.queue.insert((due_ms, callback_id));
            }
            Entry::CallbackDone { callback_id, .. } => {
                if let Some(old) = self.outbox.remove(&callback_id) {
                    self.queue.remove(&(old.next_ms, callback_id));
                }
            }
            Entry::Call(call) => self.calls.push(call),
        }
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Takes up to `limit` callbacks due at `now_ms`, marking them in flight. Returns them and
    /// the due time of the earliest callback still waiting, if any.
    pub fn take_due(&mut self, now_ms: i64, limit: usize) -> (Vec<(String, Value)>, Option<i64>) {
        let mut due = Vec::new();
        while due.len() < limit {
            let Some((at, _)) = self.queue.first() else {
                break;
            };
            if *at > now_ms {
                break;
            }
            let (_, id) = self.queue.pop_first().expect("queue is not empty");
            if let Some(p) = self.outbox.get_mut(&id) {
                p.in_flight = true;
                due.push((id, p.body.clone()));
            }
        }
        (due, self.queue.first().map(|(at, _)| *at))
    }

    /// Puts a callback whose delivery failed back in the queue for another attempt after the
    /// backoff computed from its attempt count.
    pub fn retry_later(&mut self, callback_id: &str, now_ms: i64, backoff: impl Fn(u32) -> i64) {
        if let Some(p) = self.outbox.get_mut(callback_id) {
            p.attempts += 1;
            p.next_ms = now_ms + backoff(p.attempts);
            p.in_flight = false;
            self.queue.insert((p.next_ms, callback_id.to_owned()));
        }
    }

    /// Attempts made so far for a pending callback (for logging).
    pub fn attempts(&self, callback_id: &str) -> u32 {
        self.outbox.get(callback_id).map_or(0, |p| p.attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replays_entries_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut st = State::open(dir.path()).unwrap();
            st.commit(vec![
                Entry::Order {
                    id: "acme:o1".into(),
                    order: json!({"order_id": "o1"}),
                },
                Entry::StepStarted {
                    id: "acme:o1".into(),
                    step: 2,
                },
                Entry::Callback {
                    callback_id: "cb1".into(),
                    due_ms: 10,
                    body: json!({}),
                },
            ])
            .unwrap();
        }
        // Simulate a crash in the middle of a write.
        let path = dir.path().join(JOURNAL_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"kind":"order","id":"acme:o2","ord"#)
            .unwrap();
        drop(f);

        let mut st = State::open(dir.path()).unwrap();
        assert!(st.orders.contains_key("acme:o1"));
        assert!(!st.orders.contains_key("acme:o2"));
        assert!(st.steps["acme:o1"].contains(&2));
        assert_eq!(st.outbox_len(), 1);
        // Appending after the cut yields a readable journal again.
        st.commit(vec![Entry::CallbackDone {
            callback_id: "cb1".into(),
            delivered: true,
        }])
        .unwrap();
        drop(st);
        let st = State::open(dir.path()).unwrap();
        assert_eq!(st.outbox_len(), 0);
        assert!(st.orders.contains_key("acme:o1"));
    }
}
