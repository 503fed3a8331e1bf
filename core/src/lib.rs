//! `liveness-core`: the liveness check as plain Rust, without GStreamer and without I/O.
//!
//! What the `liveness` elements and `lpserver` agree on lives here, once:
//! - the face record every element adds to ([`face`], with what the mesh found of each track,
//!   [`face::MeshReport`]) and the other contracts between elements: what a challenge session
//!   needs from the face mesh and the screen-flash schedule ([`contracts`]), the stream
//!   figures ([`stream`]) and what a frame's JPEG tells of its capture ([`capture`]);
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
