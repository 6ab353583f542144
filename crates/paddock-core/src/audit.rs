//! Audit of world-writable locations (being written).
