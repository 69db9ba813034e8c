//! The order database: the order as the tenant sees it, its gapless event log, drafts, the
//! webhook subscriptions with their delivery outbox, and the encryption of webhook secrets at
//! rest. The worker and the API share it; this crate is the only one that speaks SQL.
//!
//! Written through [`Store::record`] (by the workflow's `store.record` activity, [`record`])
//! and by the API (just-accepted orders, [`drafts`], webhooks); read by the API ([`reads`]).
//! Every write is idempotent or conditional, so a retried or racing write changes nothing.
//!
//! Two backends, one set of statements: the pool is sqlx's `Any`, which passes SQL through
//! unchanged, and every statement is written in the subset both SQLite and PostgreSQL accept
//! (`$n` placeholders, `ON CONFLICT … DO UPDATE … WHERE`, `RETURNING`, BIGINT-sized integers).
//! Where they must differ, [`Backend`] says so in one place. Each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`) with the same versions.

use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

mod backfill;
pub mod claims;
pub mod drafts;
pub mod observe;
pub mod outbox;
pub mod reads;
pub mod record;
pub mod secrets;

pub use outbox::{Delivery, Webhook};
pub use reads::{FeedPage, FeedPosition, OrderCursor, OrderFilter, OrderPage};
pub use secrets::SecretBox;

#[cfg(test)]
mod test_support;

/// The SQLite migrations. Never edit one that has shipped: sqlx refuses to open a database
/// whose applied migrations changed (their checksums are pinned by a test).
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
/// The PostgreSQL migrations: the same versions and tables in PostgreSQL's types.
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per process. Several workers and API instances share one PostgreSQL, whose
/// default limit is 100 connections.
const MAX_CONNECTIONS: u32 = 8;

/// Which database a [`Store`] talks to, from the scheme of its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://PATH`: one file, one machine (the embedded default).
    Sqlite,
    /// `postgres://…` or `postgresql://…`: shared by workers and APIs on several machines.
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> anyhow::Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!(
                "unsupported database URL '{url}': use sqlite://PATH or postgres://USER@HOST/DB"
            )
        }
    }

    /// Appended to a `SELECT` that must lock its rows until the transaction ends. SQLite
    /// needs nothing: a write transaction already holds the whole database.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
}

impl Store {
    /// Opens the database (creating a SQLite file if needed) and runs the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let store = match backend {
            Backend::Sqlite => Store::open_sqlite(url).await,
            Backend::Postgres => Store::open_postgres(url).await,
        };
        let store = store.with_context(|| format!("opening database {}", redacted(url)))?;
        store
            .backfill()
            .await
            .context("filling in fields of rows recorded by an older orderflow")?;
        Ok(store)
    }

    async fn open_sqlite(url: &str) -> anyhow::Result<Store> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid database url {url}"))?
            .create_if_missing(true)
            // WAL lets the API read while the worker writes. It is a property of the file,
            // set once here; the pool's connections then only need their own settings.
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30));
        // The API and the worker may open a new file at the same moment: switching it to WAL
        // takes a lock, and two migrators race for the same version row. The loser waits
        // and tries again, and then finds the work done.
        let mut attempt = 0;
        loop {
            let opened = async {
                options.connect().await?.close().await?;
                let pool = AnyPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // The busy timeout absorbs the short write locks of other
                            // processes sharing the file.
                            conn.execute("PRAGMA busy_timeout = 30000").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                SQLITE_MIGRATIONS
                    .run(&pool)
                    .await
                    .context("running database migrations")?;
                anyhow::Ok(pool)
            }
            .await;
            match opened {
                Ok(pool) => {
                    return Ok(Store {
                        pool,
                        backend: Backend::Sqlite,
                    });
                }
                Err(e) if attempt < 50 && is_startup_race(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn open_postgres(url: &str) -> anyhow::Result<Store> {
        // A server still starting (a fresh container) is waited for; any other error, such
        // as a refused password, ends the start at once with the server's own words, which
        // the pool would hide behind "timed out".
        let start = std::time::Instant::now();
        loop {
            match AnyConnection::connect(url).await {
                Ok(conn) => {
                    conn.close().await?;
                    break;
                }
                Err(e) if worth_waiting_for(&e) && start.elapsed() < Duration::from_secs(30) => {
                    tracing::warn!(error = %e, "database not reachable yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        // sqlx holds an advisory lock while it migrates, so processes starting together
        // apply each migration once.
        POSTGRES_MIGRATIONS
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Store {
            pool,
            backend: Backend::Postgres,
        })
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// A connection error that goes away once the server is up: nothing listening or answering
/// yet, or PostgreSQL still starting (SQLSTATE 57P03). Not a refused certificate or password.
fn worth_waiting_for(error: &sqlx::Error) -> bool {
    use std::io::ErrorKind;
    match error {
        sqlx::Error::Io(e) => !matches!(
            e.kind(),
            ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::PermissionDenied
        ),
        sqlx::Error::Database(e) => e.code().as_deref() == Some("57P03"),
        _ => false,
    }
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// A migrator that lost the race: locked out, or (SQLite has no `ADD COLUMN IF NOT EXISTS`)
/// adding a column the winner's committed migration just added.
fn is_startup_race(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("database is locked")
        || text.contains("_sqlx_migrations")
        || text.contains("duplicate column name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_follows_the_url_scheme() {
        assert_eq!(Backend::of_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        for url in [
            "postgres://u@h/db",
            "postgresql://u:p@h:5433/db?sslmode=require",
        ] {
            assert_eq!(Backend::of_url(url).unwrap(), Backend::Postgres);
        }
        assert!(Backend::of_url("mysql://h/db").is_err());
        assert!(Backend::of_url("orderflow.db").is_err());
        assert_eq!(
            redacted("postgres://orderflow:s3cret@db:5432/orderflow"),
            "postgres://orderflow:***@db:5432/orderflow"
        );
    }

    /// sqlx refuses to open a database whose applied migrations changed, so shipped
    /// migrations are frozen: add a new file instead of editing one.
    #[test]
    fn shipped_migrations_are_unchanged() {
        let checksums = |m: &Migrator| -> Vec<(i64, String)> {
            m.iter()
                .map(|m| (m.version, hex::encode(&m.checksum)))
                .collect()
        };
        assert_eq!(
            checksums(&SQLITE_MIGRATIONS),
            [
                (1, "bf51471341266eab217ec9ae9b537ef8eebd77b4434b866b18cef527c67d5d03c11110362e132c2950d42385e590bbff"),
                (2, "c8acea457400662ed3c005584229f294adca441c8480ab0427ebc49302708c0c1e8ccb354ce8189c1509519fdfedb879"),
                (3, "631661977f4b3ee1990d6262b0b690425acbbf84c070600f8e6539ea8bbda21f2845dd8cb65be2b0da10be2bc5c3f7db"),
                (4, "8796b7137ffb555dd3829f2dc5bc0a5310972fcdfc1b762c0cf3cd25ad00aafa21d0ab35ed99e37521c3a55f0709ca04"),
                (5, "02fdb41741b45ed5cb42aee8add48c1104e94c5c5c91b362bc4b6832750cb6de897d37a0be2e87ad9dc06c7226c73232"),
                (6, "91fbe2405098c37cb68f784eefed1861eafbcfb956db63ec5e7e6b030cf9c54d26c67882fe7d0fa28ed998a49f1c7e7f"),
                (7, "dc4cf79ebfd67b2b95920c79e127e3bc83fef405a026812d808e445606e613cdcf72b6f3f76036ca2a15324b32f5ae7a"),
                (8, "af86299363eea60c42f067b15ca654eefd724ea75ce8efb2c2ae8827a4c3546d17d6087ef560826aaf56b691b76a0066"),
            ]
            .map(|(v, c)| (v, c.to_string()))
        );
        assert_eq!(
            checksums(&POSTGRES_MIGRATIONS),
            [
                (1, "12a9937b33d35399f9cbae39ae07e7b776343d57b4e99fadd105d104bb6f64e2026b5fe10cd797656b4205d039b275bf"),
                (2, "34c86308ecf9054b0ce8ed747765acedbeb8fe7a732408c95c038d58491ed3a1d54c78812bf84c1aaa8442be99bc6b79"),
                (3, "851042ba386150c2f7041a964363b194f00a6f9fdb3736b57be6e70c8c0c6e6ce32a9698679d2abd714c02c90ea26824"),
                (4, "a51a4ad347f3ce55f5c822e6167e9b326ee05f46daef3e3bd738779b72569fe2738b371bb9c265f020d45b42d08ecade"),
                (5, "02fdb41741b45ed5cb42aee8add48c1104e94c5c5c91b362bc4b6832750cb6de897d37a0be2e87ad9dc06c7226c73232"),
                (6, "cd7a926fffc4126ac870b0d1de9088f23dd45b7ee32c9296a951d007675e647d3dd9c787cfca69d2a6236aec8cf7b44c"),
                (7, "bb1416b7013e965d1af3e4027c76de21405d0e4df870461a4c064ec6f9b735e9c45ec661db51299cced4888010bd8e30"),
                (8, "af86299363eea60c42f067b15ca654eefd724ea75ce8efb2c2ae8827a4c3546d17d6087ef560826aaf56b691b76a0066"),
            ]
            .map(|(v, c)| (v, c.to_string()))
        );
    }
}
