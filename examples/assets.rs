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
    std::fs::write(&man, man_page(&command)?)?;
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

/// The man page: clap_mangen's sections, then the text after the options (targets, exit status,
/// examples) as unfilled roff: `man` would otherwise fill the aligned table into run-on lines.
fn man_page(command: &clap::Command) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let extra = command
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    for section in extra.split("\n\n") {
        let (title, body) = section.split_once(":\n").unwrap_or(("NOTES", section));
        page.extend_from_slice(format!(".SH {}\n.nf\n", title.to_uppercase()).as_bytes());
        for line in body.lines() {
            page.extend_from_slice(roff_line(line).as_bytes());
            page.push(b'\n');
        }
        page.extend_from_slice(b".fi\n");
    }
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// A line of text as roff shows it verbatim: backslashes escaped, `-` as a hyphen-minus, and a
/// leading `.` or `'` (a control line otherwise) guarded.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
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
