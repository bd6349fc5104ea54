//! The options written without a value (`#down`, `#tls`).
//!
//! A leaf of its own because redaction, the floor under everything that prints, must tell such a
//! word from a secret's tail when it quotes input that failed to parse, and `params` (which owns
//! the option vocabulary) sits above redaction.

/// Every option that is written without a value: a bare word after a secret value that is none of
/// these is the secret's tail (see `target::secret_cut_short`).
pub const FLAGS: &[&str] = &[
    "absent", "cluster", "down", "insecure", "nonempty", "optional", "primary", "tls",
];
