//! Win32 apply layer (being written).
