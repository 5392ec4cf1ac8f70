//! The checkers (DESIGN §5), one file each. STUB.
