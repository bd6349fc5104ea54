//! readygate: wait until dependencies can serve, then exec the command in place.
//! The algorithm lives in `gate.rs`; this file only owns the process exit.

fn main() {
    let code = readygate::gate::run(std::env::args_os().collect());
    std::process::exit(code);
}
