//! cityhall's domain: the types every other crate speaks in, parsed at the edge, and the
//! rules that decide (calendar, identity, audit chain). No IO, no async, no clock: time is
//! always passed in.

pub mod audit;
pub mod calendar;
pub mod geo;
pub mod identity;
pub mod text;
