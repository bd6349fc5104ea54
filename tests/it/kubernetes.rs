//! The Kubernetes manifests (docker/examples/kubernetes) validated offline against the API
//! schemas of a pinned Kubernetes version, with PyPI's kubernetes-validate (installed once into a
//! virtualenv under the target directory).

use std::path::PathBuf;
use std::process::Command;

use crate::containers::{repo, sh};
use crate::harness::{have, require};

const VALIDATOR: &str = "kubernetes-validate==1.37.0";
const KUBERNETES: &str = "1.31.0";

#[test]
fn the_kubernetes_manifests_are_valid() {
    if !require(have("python3"), "python3 with venv") {
        return;
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("k8s-venv");
    let bin = venv.join("bin/kubernetes-validate");
    if !bin.exists() {
        sh(Command::new("python3").arg("-m").arg("venv").arg(&venv));
        sh(Command::new(venv.join("bin/pip")).args(["install", "-q", VALIDATOR]));
    }
    let manifests: Vec<PathBuf> = std::fs::read_dir(repo().join("docker/examples/kubernetes"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(manifests.len() >= 2);
    let out = sh(Command::new(&bin)
        .args(["--strict", "--kubernetes-version", KUBERNETES])
        .args(&manifests));
    assert!(!out.contains("ERROR"), "{out}");
    // No password in a pod spec: secrets are mounted files.
    for m in &manifests {
        let text = std::fs::read_to_string(m).unwrap();
        assert!(
            !text.contains("PGPASSWORD:") && !text.contains("name: PGPASSWORD,"),
            "{}",
            m.display()
        );
        assert!(text.contains("PGPASSWORD_FILE"), "{}", m.display());
    }
    // Ready means migrated: the Job's gate is the login only (waiting for its own migrations
    // would never end); the Deployment's pods wait for #migrated and run no migrate.
    let text =
        std::fs::read_to_string(repo().join("docker/examples/kubernetes/migrated.yaml")).unwrap();
    let (job, deployment) = text.split_once("\n---\n").unwrap();
    assert!(
        job.contains("kind: Job") && job.contains("\"migrate\""),
        "{job}"
    );
    assert!(!job.contains("#migrated="), "{job}");
    assert!(deployment.contains("kind: Deployment"), "{deployment}");
    assert!(deployment.contains("#migrated=/app"), "{deployment}");
    assert!(!deployment.contains("\"migrate\""), "{deployment}");
    // The native sidecar: an init container that keeps running (restartPolicy: Always), watching
    // and serving, probed on /readyz before the app starts.
    let text =
        std::fs::read_to_string(repo().join("docker/examples/kubernetes/native-sidecar.yaml"))
            .unwrap();
    for needed in [
        "restartPolicy: Always",
        "\"--watch\"",
        "\"--serve\"",
        "startupProbe",
        "/readyz",
    ] {
        assert!(text.contains(needed), "native-sidecar.yaml: no {needed}");
    }
}
