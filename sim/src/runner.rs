//! Runs one seed of one scenario. STUB.
