pub mod api;
pub mod cases;
pub mod corpus;
pub mod fuzz;
pub mod support;
