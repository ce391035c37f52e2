//! Open data (dữ liệu mở): tabular files read for the datastore, CKAN search and datastore
//! query parameters, and the DCAT rendering of datasets.

pub mod dcat;
pub mod query;
pub mod table;
