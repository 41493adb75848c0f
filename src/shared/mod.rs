//! Small rules the stages share, written once. A leaf: nothing here imports
//! the rest of the crate.

pub mod duration;
pub mod float;
pub mod io;
pub mod names;
pub mod retry;
pub mod text;
pub mod time;
