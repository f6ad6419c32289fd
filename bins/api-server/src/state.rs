//! What every handler shares: the database, the rules and the webhook policy.

use std::sync::Arc;

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use scheduler_core::RuleSet;
use scheduler_store::idempotency::{self, Answer, IdempotencyKey};
use scheduler_store::{Conn, Db, StoreError};

use crate::error::ApiError;
use crate::idempotency::into_response;

/// An idempotent write's answer.
#[derive(Debug)]
pub struct Written {
    /// The answer.
    pub response: HttpResponse,
    /// Whether this request's write committed it: not a replay, nor the answer a concurrent
    /// request with the same key stored first.
    pub fresh: bool,
}

/// The database, the scheduling rules and the webhook policy.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database; it decides how each read and write reaches its backend.
    pub db: Db,
    /// The scheduling rules.
    pub rules: Arc<RuleSet>,
    /// Whether webhook URLs may reach loopback, private and link-local addresses.
    pub allow_private_webhooks: bool,
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

    /// [`Db::write`] under the request's idempotency key: `write` gets the rules and the time
    /// of the request and answers; a retry with the same key gets the first answer without
    /// writing again (see [`scheduler_store::idempotency`]).
    pub async fn write_idempotent<F>(
        &self,
        key: Option<IdempotencyKey>,
        write: F,
    ) -> Result<Written, ApiError>
    where
        F: FnOnce(&mut Conn, &RuleSet, DateTime<Utc>) -> Result<Answer, StoreError>
            + Send
            + 'static,
    {
        self.idempotent(key, false, write).await
    }

    /// [`AppState::write_idempotent`] for a `write` that is one atomic store call (see
    /// [`Db::write_atomic`]): without a key, on PostgreSQL, it runs outside a transaction. With
    /// a key, the key's answer is stored in the write's transaction, as for any write.
    pub async fn write_idempotent_atomic<F>(
        &self,
        key: Option<IdempotencyKey>,
        write: F,
    ) -> Result<Written, ApiError>
    where
        F: FnOnce(&mut Conn, &RuleSet, DateTime<Utc>) -> Result<Answer, StoreError>
            + Send
            + 'static,
    {
        self.idempotent(key, true, write).await
    }

    async fn idempotent<F>(
        &self,
        key: Option<IdempotencyKey>,
        atomic: bool,
        write: F,
    ) -> Result<Written, ApiError>
    where
        F: FnOnce(&mut Conn, &RuleSet, DateTime<Utc>) -> Result<Answer, StoreError>
            + Send
            + 'static,
    {
        let outside_transaction = atomic && key.is_none();
        let job = move |conn: &mut Conn, rules: &RuleSet| {
            let now = Utc::now();
            let mut own = None;
            let response = idempotency::run(conn, key.as_ref(), now, |conn| {
                let answer = write(conn, rules, now)?;
                own = Some(answer.response.clone());
                Ok::<_, StoreError>(answer)
            })?;
            Ok((response, own))
        };
        let (response, own) = if outside_transaction {
            let rules = Arc::clone(&self.rules);
            self.db.write_atomic(move |conn| job(conn, &rules)).await?
        } else {
            self.write(job).await?
        };
        // A replay, or a concurrent request with the same key that stored its answer first,
        // answers with a stored answer: this request's write, if it ran, was rolled back.
        let fresh = own.as_ref() == Some(&response);
        Ok(Written {
            response: into_response(response)?,
            fresh,
        })
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
