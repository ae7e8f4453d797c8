//! Staffing the grids: workload per grid, the assignment of grid workers (HiGHS), and the monthly
//! visits with their walking routes.

pub mod assign;
pub mod streets;
pub mod visits;
