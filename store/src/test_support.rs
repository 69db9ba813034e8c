//! Stores for unit tests, on both backends.

use crate::Store;

/// A store on a new SQLite file; the file lives as long as the returned directory.
pub(crate) async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (Store::connect(&url).await.unwrap(), dir)
}

/// A store on a new database of the test PostgreSQL server.
pub(crate) async fn postgres_store(label: &str) -> Store {
    let url = orderflow_testpg::database(label).await;
    Store::connect(&url).await.unwrap()
}

/// Runs each named `async fn(Store)` on both backends, as the tests `<name>::sqlite` and
/// `<name>::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (store, _dir) = $crate::test_support::sqlite_store().await;
                super::$name(store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let store = $crate::test_support::postgres_store(stringify!($name)).await;
                super::$name(store).await;
            }
        }
    )*};
}
pub(crate) use on_both_backends;
