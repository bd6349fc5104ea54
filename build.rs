//! Build-time facts for `readygate --version`: the git commit it was built from, the target
//! triple and the optional parts (cargo features) built in. The commit comes from `READYGATE_COMMIT` when the build sets it (a Docker build context
//! or a source archive has no `.git`: `docker build --build-arg READYGATE_COMMIT=…`), else from
//! git in a checkout or worktree, else "unknown".

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=READYGATE_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let given = std::env::var("READYGATE_COMMIT")
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_alphanumeric()));
    let commit = given
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=READYGATE_COMMIT={commit}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=READYGATE_TARGET={target}");
    // The optional parts this build has (cargo features), for `--version`: what a user can check
    // before deploying a build made with only some protocols.
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(str::to_string))
        .filter(|f| f != "DEFAULT" && f != "FUZZING")
        .map(|f| f.to_ascii_lowercase().replace('_', "-"))
        .collect();
    features.sort();
    let features = if features.is_empty() {
        "none".to_string()
    } else {
        features.join(" ")
    };
    println!("cargo:rustc-env=READYGATE_FEATURES={features}");
    // A new commit or a checkout changes these. In a worktree `.git` is a file: the HEAD is in the
    // worktree's own git directory and the branches in the common one, so ask git where they are
    // (a path that does not exist would make cargo run this script on every build).
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) {
        let (dir, common) = (PathBuf::from(dir), PathBuf::from(common));
        for path in [
            dir.join("HEAD"),
            common.join("refs/heads"),
            common.join("packed-refs"),
        ] {
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
