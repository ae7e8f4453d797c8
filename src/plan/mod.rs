//! Drawing grids: the partition engine (recursive bisection, or grids as unions of whole cells when
//! the ground layers are given) and the re-draw that keeps what did not change.

pub mod dedicated;
pub mod numbering;
pub mod partition;
pub mod replan;
