//! Tests of the sans-IO core through its public API: trust, envelopes, authorization, quarantine,
//! convergence (property tests) and the sync protocol in memory.

mod authorization;
mod calendar;
mod cases;
mod convergence;
mod departments;
mod envelope;
mod fixture;
mod lifecycle;
mod membership;
mod quarantine;
mod sequence;
mod session;
mod signatures;
mod staff;
mod sync;
mod threats;
mod trust;
mod withdrawal;
