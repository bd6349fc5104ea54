//! The release artifacts of `dist/build.sh`, checked where they run: the arm64 and armv7 static
//! binaries under qemu-user (the same behaviour as on x86-64), the Debian package installed into a
//! clean Debian root, the multi-architecture OCI archive, and the small build context of the
//! source image.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use crate::containers::{docker_ready, repo, sh, tag};
use crate::fake;
use crate::harness::{finish, have, is_root, ms, require, run, run_during, HeldPort};
use crate::static_build::static_inspector;

const TRIPLES: [(&str, &str, &str); 3] = [
    ("x86_64-unknown-linux-musl", "", "x86-64"),
    (
        "aarch64-unknown-linux-musl",
        "qemu-aarch64-static",
        "ARM aarch64",
    ),
    (
        "armv7-unknown-linux-musleabihf",
        "qemu-arm-static",
        "ARM, EABI5",
    ),
];

fn prerequisites() -> bool {
    require(
        is_root()
            && have("aarch64-linux-gnu-gcc")
            && have("arm-linux-gnueabihf-gcc")
            && have("qemu-aarch64-static")
            && have("qemu-arm-static")
            && have("cargo-deb")
            && have("buildah")
            && have("skopeo")
            && have("musl-gcc"),
        "cross compilers, qemu-user-static, cargo-deb, buildah and skopeo, as root (./test.sh installs them)",
    )
}

/// Runs `dist/build.sh` once per test run (its cargo builds are cached in target/cross).
fn artifacts() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dist-{}", tag()));
        sh(Command::new("bash")
            .arg(repo().join("dist/build.sh"))
            .arg(&out));
        out
    })
}

/// A foreign binary, run through its emulator.
fn foreign(triple: &str, emulator: &str) -> Command {
    let bin = artifacts().join(format!("readygate-{triple}"));
    let mut cmd = if emulator.is_empty() {
        Command::new(&bin)
    } else {
        let mut c = Command::new(emulator);
        c.arg(&bin);
        c
    };
    cmd.stdin(Stdio::null());
    cmd
}

#[test]
fn the_static_binaries_behave_the_same_on_every_architecture() {
    if !prerequisites() {
        return;
    }
    let app = static_inspector().expect("the static inspector");
    let (cert, key) = fake::self_signed();
    let tls = fake::https(&cert, &key, fake::status(200));
    for (triple, emulator, machine) in TRIPLES {
        let bin = artifacts().join(format!("readygate-{triple}"));
        let file = sh(Command::new("file").arg(&bin));
        assert!(
            file.contains(machine)
                && (file.contains("statically linked") || file.contains("static-pie")),
            "{file}"
        );
        let version = run(foreign(triple, emulator).arg("--version"), ms(10_000));
        assert!(version.stdout.contains(triple), "{}", version.stdout);
        // Bad input: 2 at once.
        let r = run(foreign(triple, emulator).arg("tcp://db:0"), ms(10_000));
        assert_eq!(r.code(), 2, "{triple}: {}", r.stderr);
        // A port that opens late, then the exec of a (static, x86-64) program.
        let held = HeldPort::new();
        let port = held.port;
        let r = run_during(
            foreign(triple, emulator)
                .args(["-t", "20", &format!("127.0.0.1:{port}"), "--"])
                .arg(app),
            ms(30_000),
            || {
                std::thread::sleep(ms(700));
                std::mem::forget(held.listen());
            },
        );
        assert_eq!(r.code(), 0, "{triple}: {}", r.stderr);
        assert!(r.field("pid").is_some(), "{triple}: the command ran");
        // SIGTERM while waiting: 143.
        let child = foreign(triple, emulator)
            .args(["-t", "30", "127.0.0.1:1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(ms(1500));
        // SAFETY: signals our own child (qemu passes it on to the program it runs).
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let r = finish(child, Instant::now(), ms(10_000));
        assert_eq!(r.code(), 143, "{triple}: {}", r.stderr);
        // TLS against the built-in roots: a self-signed certificate is rejected, not a crash.
        let r = run(
            foreign(triple, emulator).args(["-t", "10", &format!("https://localhost:{tls}/")]),
            ms(20_000),
        );
        assert_eq!(r.code(), 1, "{triple}: {}", r.stderr);
        assert!(
            r.stderr.contains("unknown issuer"),
            "{triple}: {}",
            r.stderr
        );
        eprintln!(
            "MEASURE {triple}: {} bytes",
            std::fs::metadata(&bin).unwrap().len()
        );
    }
}

#[test]
fn the_debian_package_installs_and_runs_in_a_clean_root() {
    if !prerequisites()
        || !require(
            have("debootstrap") && have("chroot"),
            "debootstrap and chroot",
        )
    {
        return;
    }
    let tarball = sh(Command::new("bash").arg(repo().join("docker/e2e/bookworm-rootfs.sh")));
    let root = tempfile::tempdir().unwrap();
    sh(Command::new("tar")
        .args(["-xf", tarball.trim(), "-C"])
        .arg(root.path()));
    let deb = std::fs::read_dir(artifacts())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("_amd64.deb"))
        .expect("an amd64 package");
    std::fs::copy(&deb, root.path().join("readygate.deb")).unwrap();
    // The cached root skips documentation (for the images built from it); a user's does not.
    let _ = std::fs::remove_file(root.path().join("etc/dpkg/dpkg.cfg.d/01-nodoc"));
    let chroot = |args: &[&str]| {
        let mut c = Command::new("chroot");
        c.arg(root.path()).args(args);
        c
    };
    sh(&mut chroot(&["dpkg", "-i", "/readygate.deb"]));
    let version = sh(&mut chroot(&["readygate", "--version"]));
    assert!(version.contains("x86_64-unknown-linux-musl"), "{version}");
    for file in [
        "usr/share/man/man1/readygate.1.gz",
        "usr/share/bash-completion/completions/readygate",
        "usr/share/zsh/vendor-completions/_readygate",
        "usr/share/fish/vendor_completions.d/readygate.fish",
    ] {
        assert!(root.path().join(file).exists(), "{file} is not installed");
    }
    // The wait-for-it alternative answers in wait-for-it's language.
    let r = run(
        &mut chroot(&["wait-for-it", "-t", "1", "127.0.0.1:1"]),
        ms(10_000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    sh(&mut chroot(&["dpkg", "-r", "readygate"]));
    assert!(!root.path().join("usr/bin/readygate").exists());
    assert!(!root.path().join("usr/bin/wait-for-it").exists());
}

#[test]
fn the_oci_archive_holds_three_architectures() {
    if !prerequisites() || !docker_ready() {
        return;
    }
    let archive = artifacts().join("readygate-oci.tar");
    let dir = tempfile::tempdir().unwrap();
    sh(Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path()));
    let blob = |digest: &str| {
        std::fs::read_to_string(
            dir.path()
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
        .unwrap()
    };
    let top = std::fs::read_to_string(dir.path().join("index.json")).unwrap();
    // index.json → the image index → one manifest per platform.
    let digest = |json: &str| -> Vec<String> {
        json.match_indices("\"digest\":\"")
            .map(|(i, m)| json[i + m.len()..].split('"').next().unwrap().to_string())
            .collect()
    };
    let index = blob(&digest(&top)[0]);
    for platform in [
        "\"architecture\":\"amd64\"",
        "\"architecture\":\"arm64\"",
        "\"architecture\":\"arm\"",
    ] {
        assert!(index.contains(platform), "{platform} missing: {index}");
    }
    assert!(index.contains("\"variant\":\"v7\""), "{index}");
    // The arm64 member, loaded into the engine: arm64, one layer holding one file.
    let image = format!("readygate-arm64:{}", tag());
    sh(Command::new("skopeo").args([
        "copy",
        "--override-arch",
        "arm64",
        &format!("oci-archive:{}", archive.display()),
        &format!("docker-daemon:{image}"),
    ]));
    let inspect =
        |fmt: &str| sh(Command::new("docker").args(["image", "inspect", "-f", fmt, &image]));
    assert_eq!(inspect("{{.Architecture}}").trim(), "arm64");
    assert_eq!(inspect("{{len .RootFS.Layers}}").trim(), "1");
    let _ = Command::new("docker").args(["rmi", "-f", &image]).output();
    eprintln!(
        "MEASURE OCI archive (three architectures): {} bytes",
        std::fs::metadata(&archive).unwrap().len()
    );
}

#[test]
fn the_source_image_sends_a_small_build_context() {
    if !docker_ready() {
        return;
    }
    // A base image that cannot exist stops the build right after the context is sent.
    let out = Command::new("docker")
        .args([
            "build",
            "--build-arg",
            "RUST_IMAGE=readygate-no-such-image:none",
            "-f",
        ])
        .arg(repo().join("docker/Dockerfile"))
        .arg(repo())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    // The progress is redrawn with carriage returns: the last figure is the total.
    let text = (String::from_utf8_lossy(&out.stdout).to_string()
        + &String::from_utf8_lossy(&out.stderr))
        .replace('\r', "\n");
    let line = text
        .lines()
        .rfind(|l| l.contains("Sending build context"))
        .unwrap_or_else(|| panic!("{text}"));
    let size = line.split_whitespace().last().unwrap_or_default();
    let bytes = if let Some(mb) = size.strip_suffix("MB") {
        mb.parse::<f64>().unwrap() * 1e6
    } else if let Some(kb) = size.strip_suffix("kB") {
        kb.parse::<f64>().unwrap() * 1e3
    } else {
        size.trim_end_matches('B').parse::<f64>().unwrap()
    };
    eprintln!("MEASURE docker build context of the source image: {size}");
    assert!(bytes < 5e6, "{line}");
}

/// Runs a Python check over the artifacts; it prints "ok" or what is wrong.
fn python_check(script: &str, args: &[&Path]) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(text.trim(), "ok", "{text}");
}

#[test]
fn every_binary_carries_its_dependency_list_and_an_sbom() {
    if !prerequisites() {
        return;
    }
    let sums = std::fs::read_to_string(artifacts().join("SHA256SUMS")).unwrap();
    for (triple, _, _) in TRIPLES {
        let bin = artifacts().join(format!("readygate-{triple}"));
        let sbom = artifacts().join(format!("readygate-{triple}.cdx.json"));
        assert!(
            sums.contains(&format!("readygate-{triple}.cdx.json")),
            "{sums}"
        );
        // The embedded list (cargo-auditable) is the lock file's crates, with their versions, and
        // the SBOM lists exactly those, each with its licence and its checksum from Cargo.lock.
        python_check(
            r#"
import json, sys, subprocess
sys.path.insert(0, sys.argv[3])
import sbom as s
deps = s.embedded(sys.argv[1])["packages"]
lock = open(sys.argv[3] + "/../Cargo.lock").read()
missing = [p["name"] for p in deps if f'name = "{p["name"]}"\nversion = "{p["version"]}"' not in lock]
names = {p["name"] for p in deps}
bom = json.load(open(sys.argv[2]))
comps = {c["name"]: c for c in bom["components"]}
problems = []
if missing: problems.append(f"not in Cargo.lock: {missing}")
if not {"tokio", "rustls", "clap", "tokio-postgres"} <= names: problems.append(f"crates missing: {sorted(names)}")
if bom["bomFormat"] != "CycloneDX" or bom["specVersion"] != "1.5": problems.append("not CycloneDX 1.5")
if set(comps) != names - {"readygate"}: problems.append(f"components differ: {set(comps) ^ (names - {'readygate'})}")
for c in comps.values():
    if c.get("scope") == "excluded": continue
    if not c.get("licenses") or not c.get("hashes") or len(c["hashes"][0]["content"]) != 64:
        problems.append(f"{c['name']}: licence or checksum missing")
if bom["metadata"]["component"]["hashes"][0]["content"] != __import__("hashlib").sha256(open(sys.argv[1], "rb").read()).hexdigest():
    problems.append("the SBOM does not name this binary")
print("; ".join(problems) or "ok")
"#,
            &[&bin, &sbom, &repo().join("dist")],
        );
        let size = std::fs::metadata(&bin).unwrap().len();
        eprintln!("MEASURE {triple}: {size} bytes with its dependency list");
    }
}

#[test]
fn each_image_of_the_oci_archive_has_its_sbom_attached() {
    if !prerequisites() {
        return;
    }
    python_check(
        r#"
import json, sys, tarfile, hashlib
tar = tarfile.open(sys.argv[1])
files = {m.name.lstrip("./"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
blob = lambda d: files["blobs/sha256/" + d[7:]]
layout = json.loads(files["index.json"])
index = [m for m in layout["manifests"] if m["mediaType"].endswith("index.v1+json")][0]
entries = json.loads(blob(index["digest"]))["manifests"]
images = {m["digest"]: m["platform"] for m in entries if m.get("artifactType") is None}
problems, seen = [], set()
if len(layout["manifests"]) != 1: problems.append("index.json must name one image index")
for ref in [m for m in entries if m.get("artifactType") == "application/vnd.cyclonedx+json"]:
    data = blob(ref["digest"])
    if hashlib.sha256(data).hexdigest() != ref["digest"][7:]: problems.append("a referrer's digest is wrong")
    if ref["platform"] != {"architecture": "unknown", "os": "unknown"}: problems.append("a referrer has a platform")
    m = json.loads(data)
    subject = m["subject"]["digest"]
    if subject not in images or ref["annotations"]["vnd.docker.reference.digest"] != subject:
        problems.append(f"subject {subject} is not an image of the index")
    layer = m["layers"][0]
    sbom = blob(layer["digest"])
    if hashlib.sha256(sbom).hexdigest() != layer["digest"][7:]: problems.append("an SBOM blob's digest is wrong")
    name = layer["annotations"]["org.opencontainers.image.title"]
    if open(sys.argv[2] + "/" + name, "rb").read() != sbom: problems.append(f"{name} differs from the published one")
    if json.loads(sbom)["bomFormat"] != "CycloneDX": problems.append("not CycloneDX")
    seen.add(subject)
if seen != set(images): problems.append(f"{len(images) - len(seen)} images without an SBOM")
print("; ".join(problems) or "ok")
"#,
        &[&artifacts().join("readygate-oci.tar"), artifacts()],
    );
}

/// Two `dist/build.sh` runs of one commit, in two directories, minutes apart, make byte-identical
/// binaries, .deb files and SBOMs (one architecture: the others go through the same steps). The
/// first run is the one `artifacts()` made in this checkout when it is clean (CI); otherwise a
/// second fresh clone.
#[test]
fn two_builds_of_one_commit_are_byte_identical() {
    if !prerequisites() {
        return;
    }
    let triple = "x86_64-unknown-linux-musl";
    let clean = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(repo())
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.is_empty());
    let mut outputs = Vec::new();
    if clean {
        outputs.push(artifacts().to_path_buf());
    }
    let dirs: Vec<tempfile::TempDir> = (outputs.len()..2)
        .map(|i| {
            tempfile::Builder::new()
                .prefix(&format!("readygate-repro-{i}-"))
                .tempdir()
                .unwrap()
        })
        .collect();
    for dir in &dirs {
        let checkout = dir.path().join("src");
        sh(Command::new("git")
            .args(["clone", "--quiet", "--no-hardlinks"])
            .arg(repo())
            .arg(&checkout));
        let out = dir.path().join("out");
        sh(Command::new("bash")
            .arg(checkout.join("dist/build.sh"))
            .arg(&out)
            .env("DIST_PARTS", "bin deb")
            .env("DIST_TRIPLES", triple));
        outputs.push(out);
    }
    let deb = |out: &Path| {
        std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with("_amd64.deb"))
            })
            .expect("the amd64 .deb")
    };
    let file = |out: &Path, suffix: &str| out.join(format!("readygate-{triple}{suffix}"));
    for (what, a, b) in [
        ("binary", file(&outputs[0], ""), file(&outputs[1], "")),
        (
            "SBOM",
            file(&outputs[0], ".cdx.json"),
            file(&outputs[1], ".cdx.json"),
        ),
        (".deb", deb(&outputs[0]), deb(&outputs[1])),
    ] {
        let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert!(
            x == y,
            "the two builds' {what} differ: {} vs {}",
            a.display(),
            b.display()
        );
    }
}
