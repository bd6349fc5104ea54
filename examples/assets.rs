//! Generates the man page and the shell completions from the command-line definition, so they
//! can never drift from `--help`:
//!
//!     cargo run --example assets -- DIR      # DIR/readygate.1, DIR/completions/{readygate.bash,_readygate,readygate.fish}
//!
//! A development tool (clap_mangen and clap_complete are dev-dependencies): the binary carries
//! none of it. The Debian package installs what it writes.

use std::path::Path;

/// Writes every asset into `dir`; returns the files written.
pub fn write(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    use clap_complete::Shell;
    let mut written = Vec::new();
    std::fs::create_dir_all(dir.join("completions"))?;
    let command = readygate::cli::command();
    let man = dir.join("readygate.1");
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(&man, page)?;
    written.push(man);
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path = clap_complete::generate_to(
            shell,
            &mut command.clone(),
            "readygate",
            dir.join("completions"),
        )?;
        written.push(path);
    }
    Ok(written)
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/assets".into());
    for path in write(Path::new(&dir))? {
        println!("{}", path.display());
    }
    Ok(())
}
