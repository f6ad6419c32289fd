//! What every handler shares: the database and the rules.

use std::sync::Arc;

use scheduler_core::RuleSet;
use scheduler_store::{Conn, Db};

use crate::error::ApiError;

/// The database and the scheduling rules.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database; it decides how each read and write reaches its backend.
    pub db: Db,
    /// The scheduling rules.
    pub rules: Arc<RuleSet>,
}

impl AppState {
    /// [`Db::read`], with the rules.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn, &RuleSet) -> Result<T, ApiError> + Send + 'static,
    {
        let rules = Arc::clone(&self.rules);
        self.db.read(move |conn| f(conn, &rules)).await
    }

    /// [`Db::write`], with the rules.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn, &RuleSet) -> Result<T, ApiError> + Send + 'static,
    {
        let rules = Arc::clone(&self.rules);
        self.db.write(move |conn| f(conn, &rules)).await
    }
}
