//! Integration tests: the real binary against real servers and small fake ones on loopback.
//! One test binary (one link step); modules by subject.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod fake;
mod hardening;
mod harness;

mod arp;
mod attacks;
mod attacks3;
mod brokers;
mod check;
mod containers;
mod dist;
mod django;
mod dns;
mod dropin;
mod engine;
mod exec;
mod features;
mod http;
mod kubernetes;
mod layers;
mod migrated;
mod partition;
mod postgres;
mod protocols;
mod readme;
mod redis;
mod secrets;
mod semantics;
mod servers;
mod signals;
mod static_build;
mod swarm;
mod swarm_nodes;
mod tcp;
mod usage;
mod watch;
