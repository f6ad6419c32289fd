//! Webhook delivery (contract section 9): every ledger event a subscription wants reaches its
//! receiver at least once, signed the Standard Webhooks way.
//!
//! - [`signature`]: the secret and the `webhook-signature` header.
//! - [`address`]: which URLs may receive (public addresses only, unless allowed), checked when
//!   a subscription is made and again by the resolver at every send.
//! - [`Deliverer`]: reads the ledger's feed into delivery rows and delivers them, sharing the
//!   work with every other deliverer on the same database through the store's leases.
//!
//! The state is all in the database (`scheduler_store::webhooks`): a deliverer holds nothing a
//! crash could lose.

pub mod address;
mod deliverer;
pub mod send;
pub mod signature;

pub use address::{check_resolved, parse_url, UrlError};
pub use deliverer::{ClientError, Config, Deliverer, Stats};
pub use scheduler_store::webhooks::RetrySchedule;
pub use signature::{Secret, SECRET_PREFIX};
