//! Where things are, in metres: coordinate reference systems and PROJ, Chinese web-map offsets, planar
//! geometry, R-tree indexes over polygons, and the boundary tree.
//!
//! The lowest layer with [`crate::model`] and [`crate::rules`]: nothing here knows about grids being
//! drawn, checked or staffed.

pub mod barriers;
pub mod crs;
pub mod geometry;
pub mod ground;
pub mod index;
pub mod segments;
pub mod tree;
pub mod webmap;
