//! readygate: wait until dependencies can serve, then exec the command in place.
//! The algorithm lives in `gate.rs`; this file only owns the process exit.

/// Runs before Rust's own start-up, which would abort on a closed stdin/stderr without
/// `/dev/null` (see `startup.rs`).
#[used]
#[link_section = ".init_array"]
static SANITIZE_STD_FDS: extern "C" fn() = readygate::startup::sanitize_std_fds;

/// Runs before Rust's own start-up too: as PID 1, a signal that is neither handled nor blocked is
/// dropped by the kernel, and a SIGTERM sent the moment the gate was exec'd would be lost. Blocked
/// here, it stays pending until the handlers exist (see `signal.rs`).
#[used]
#[link_section = ".init_array"]
static BLOCK_SIGNALS: extern "C" fn() = readygate::gate::block_signals_early;

/// The static build's allocator (why: see Cargo.toml).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() {
    // First thing: a SIGTERM that arrives while the arguments are parsed stays pending until the
    // handlers exist, instead of being lost (see `signal.rs`).
    readygate::gate::block_signals();
    let code = readygate::gate::run(std::env::args_os().collect());
    std::process::exit(code);
}
