//! Measurement for TABS (to come: issue 5).
