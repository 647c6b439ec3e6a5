//! Seeded model simulation (below).
