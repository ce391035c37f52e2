//! cityhall's domain: the types every other crate speaks in, parsed at the edge, and the
//! rules that decide (calendar, identity, audit chain, catalog, dossier workflow). No IO, no
//! async, no clock: time is always passed in.

pub mod assistant;
pub mod audit;
pub mod blob;
pub mod calendar;
pub mod catalog;
pub mod dossier;
pub mod feedback;
pub mod geo;
pub mod identity;
pub mod opendata;
pub mod text;
