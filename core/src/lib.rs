//! `liveness-core`: the liveness check as plain Rust, without GStreamer and without I/O.
//!
//! What the `liveness` elements and `lpserver` agree on lives here, once:
//! - the face record every element adds to ([`face`]) and the contracts between elements
//!   (what a challenge session needs from the face mesh, what the mesh found, the flash
//!   schedule, the stream figures: [`contracts`], [`challenge::flash`], [`stream`]);
//! - the findings and their meanings ([`errors`]), the per-frame checks ([`checks`]), the
//!   verdict and frame result ([`verdict`]) and the token's claims ([`claims`]);
//! - the pure logic: the challenge session and its rules (pose, planarity, flash correlation,
//!   blink counting: [`challenge`]), the surface and presentation-attack features ([`surface`],
//!   [`pad`]), the age decision ([`age`]), and the pixel work they rest on ([`frame`],
//!   [`crop`]).
//!
//! Nothing here reads a file, opens a socket or touches a GStreamer object; the elements
//! and the server do that and call in here.

pub mod age;
pub mod capture;
pub mod challenge;
pub mod checks;
pub mod claims;
pub mod contracts;
pub mod crop;
pub mod errors;
pub mod face;
pub mod frame;
pub mod pad;
pub mod stream;
pub mod surface;
pub mod verdict;
