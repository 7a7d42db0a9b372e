//! shoal's integration tests: one binary, one module per area. `common` holds the
//! harness (fresh databases per backend, the `battery!` macro).

#[macro_use]
mod common;

mod admin;
mod api;
mod config;
mod dhcp_client;
mod netns;
mod store_conformance;
mod store_leases;
mod v4_classes;
mod v4_classes_e2e;
mod v4_clients;
mod v4_hosts;
mod v4_messages;
mod v4_outage;
mod v4_perfdhcp;
mod v4_quickstart;
mod v4_server;
