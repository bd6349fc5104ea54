//! `--arp` on the machine's Docker Engine: a dependency's address that nobody answers ARP for yet
//! (its container is started later, with a fixed address on a network of the run's own), so the
//! kernel's neighbour entry is incomplete from the gate's first connection on. With `CAP_NET_RAW`
//! (Docker's default) the gate asks who has the address itself, on the container's link, and the
//! command runs once the dependency listens; without it, one warning and the kernel's own pace.
//! How much sooner the command runs is the benchmark's to show (`bench/run.py --only late-name`).

use std::time::Duration;

use crate::containers::{docker, docker_quiet};
use crate::engine::Engine;
use crate::harness::{gate, ms, run, wait_until};

/// A user network with a subnet of its own (a fixed `--ip` needs one), removed on drop.
struct Network {
    name: String,
    prefix: String,
}

impl Network {
    /// Tries subnets in 10.0.0.0/8 until the engine takes one no other network uses.
    fn create(name: String) -> Network {
        let seed = std::process::id() as usize + crate::containers::tag().len();
        for i in 0..50 {
            let (a, b) = ((seed + i * 37) % 200 + 20, (seed / 7 + i * 11) % 250 + 1);
            let prefix = format!("10.{a}.{b}");
            docker_quiet(&["network", "rm", &name]);
            if docker_quiet(&[
                "network",
                "create",
                "--subnet",
                &format!("{prefix}.0/24"),
                &name,
            ]) {
                return Network { name, prefix };
            }
        }
        panic!("no free 10.x.y.0/24 subnet for {name}");
    }
}

impl Drop for Network {
    /// Its containers first (a network with a running container cannot be removed), whatever the
    /// order in which the test's values are dropped.
    fn drop(&mut self) {
        let out = std::process::Command::new("docker")
            .args([
                "network",
                "inspect",
                "-f",
                "{{range .Containers}}{{.Name}} {{end}}",
            ])
            .arg(&self.name)
            .output();
        if let Ok(out) = out {
            for name in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                docker_quiet(&["rm", "-f", name]);
            }
        }
        // The engine releases a removed container's endpoint a moment after `rm -f` returns.
        for _ in 0..50 {
            if docker_quiet(&["network", "rm", &self.name])
                || !docker_quiet(&["network", "inspect", &self.name])
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn a_dependency_that_does_not_answer_arp_yet_is_asked_for() {
    let Some(mut e) = Engine::start("arp") else {
        return;
    };
    let bin = crate::static_build::static_binary().expect("static build");
    let (app, plain, dropped, dep) = (
        e.name("arp-app"),
        e.name("arp-plain"),
        e.name("arp-noraw"),
        e.name("arp-dep"),
    );
    let net = Network::create(format!("rg-{}-arp", crate::containers::tag()));
    let dep_ip = format!("{}.200", net.prefix);
    let volume = format!("{}:/readygate:ro", bin.display());
    let gate = |name: &str, extra: &[&str], flags: &str| {
        let mut options = vec!["--network", &net.name, "-v", &volume];
        options.extend_from_slice(extra);
        e.run(
            name,
            &options,
            &format!("exec /readygate -v {flags} -t 60 tcp://{dep_ip}:7000 -- echo APP STARTED"),
        )
    };
    gate(&app, &[], "--arp");
    gate(&plain, &[], "");
    gate(&dropped, &["--cap-drop", "NET_RAW"], "--arp");
    // Long enough for the kernel's first requests to go unanswered and the gates to ask again.
    std::thread::sleep(Duration::from_millis(1500));
    e.run(
        &dep,
        &["--network", &net.name, "--ip", &dep_ip],
        "exec httpd -f -p 7000",
    );
    let logs = |name: &str| {
        wait_until(Duration::from_secs(60), ms(100), || {
            let out = std::process::Command::new("docker")
                .args(["logs", name])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            match text.contains("APP STARTED") {
                true => Ok(text),
                false => Err(format!("{name} never started its command:\n{text}")),
            }
        })
    };
    let asked = format!("--arp: asked who has {dep_ip} on eth0");
    // With CAP_NET_RAW: the gate asked, on the link the kernel was asking on, and went on.
    let with = logs(&app);
    assert!(with.contains(&asked), "{with}");
    assert!(!with.contains("needs CAP_NET_RAW"), "{with}");
    // Without --arp: not a packet of its own.
    let without = logs(&plain);
    assert!(!without.contains("--arp"), "{without}");
    // CAP_NET_RAW dropped: one warning, then the kernel's pace, and the command still runs.
    let refused = logs(&dropped);
    assert_eq!(
        refused.matches("--arp needs CAP_NET_RAW").count(),
        1,
        "{refused}"
    );
    assert!(!refused.contains(&asked), "{refused}");
    for name in [&app, &plain, &dropped] {
        assert_eq!(
            docker(&["wait", name]).trim(),
            "0",
            "{name}: {}",
            logs(name)
        );
    }
}

/// `--explain` says when the gate would send packets of its own, and where the setting came from;
/// without the flag it says nothing of ARP.
#[test]
fn explain_names_arp_only_when_it_is_on() {
    let said = |args: &[&str], env: Option<&str>| {
        let mut cmd = gate();
        cmd.env_remove("READYGATE_ARP");
        if let Some(v) = env {
            cmd.env("READYGATE_ARP", v);
        }
        let g = run(
            cmd.arg("--explain").args(args).arg("tcp://db:5432"),
            Duration::from_secs(10),
        );
        assert_eq!(g.code(), 0, "{g:?}");
        g.stdout
    };
    let on = said(&["--arp"], None);
    assert!(on.contains("ARP:") && on.contains("from --arp"), "{on}");
    let env = said(&[], Some("yes"));
    assert!(env.contains("from READYGATE_ARP"), "{env}");
    assert!(!said(&[], None).contains("ARP"));
    assert!(!said(&["--arp=false"], None).contains("ARP"));
}
