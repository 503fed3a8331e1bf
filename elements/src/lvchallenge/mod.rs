//! `lvchallenge`: the active liveness challenges of seed 002.

pub mod challenge;
pub mod pose;
pub mod session;
