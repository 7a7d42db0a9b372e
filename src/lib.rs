//! # shoal
//!
//! A stateless DHCP cluster: N identical front-ends share one SQL database that holds
//! every lease, host reservation and piece of configuration.
//!
//! # Layout
//!
//! - [`settings`]: Kea-format JSON configuration → validated runtime types.
//! - [`store`]: storage traits and the PostgreSQL, MySQL and SQLite backends; the only
//!   place SQL exists. Migrations live in `migrations/<dialect>`.
//! - [`classify`]: client classes and Kea's expression language (parse once, evaluate per packet).
//! - [`alloc`]: the allocation policy (which address a client gets) over atomic store claims.
//! - [`dhcp`]: the socket loop ([`dhcp::server`]) and the protocol engine ([`dhcp::v4`]),
//!   which turns a datagram into a [`dhcp::Reply`] without touching sockets; counters and
//!   the database watchdog ([`dhcp::health`], Kea's `on-fail`).
//! - [`api`]: the Kea-compatible control API (HTTP and Unix sockets), `/metrics`,
//!   `/health`, `/ready`.
//! - [`clock`]: injectable time.
//! - [`logging`]: Kea's `loggers` → tracing.
//! - [`app`]: the composition root (wiring, reclamation, signals, shutdown).

pub mod alloc;
pub mod api;
pub mod app;
pub mod classify;
pub mod clock;
pub mod dhcp;
pub mod logging;
pub mod settings;
pub mod store;
