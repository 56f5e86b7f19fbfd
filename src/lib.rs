//! Experiments for TABS (tasks and training wiring: issue 4).
