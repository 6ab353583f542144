//! Pure Windows path logic, compiled and tested on every OS (owned by the paths work; see docs).
