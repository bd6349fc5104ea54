//! `--explain`: the plan in words — every target (redacted), what its probe will do and where each
//! setting came from (a flag, a variable, the URL, a `PG*` variable, a default) — printed to stdout
//! like `--help`, and nothing probed.

use std::fmt::Write as _;

use crate::duration::show;
use crate::plan::{Mode, Plan};
use crate::schedule::Stability;

/// Prints the plan; false (said on stderr) when stdout would not take it (closed, full): the plan
/// must not be lost without a word.
pub fn print(plan: &Plan) -> bool {
    use std::io::Write;
    let text = render(plan);
    let text = crate::redact::scrub(&text);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            crate::report::emit(&crate::report::Event::Internal(&format!(
                "cannot write the plan to stdout: {}",
                crate::os::io_reason(&e)
            )));
            false
        }
    }
}

fn render(plan: &Plan) -> String {
    let from = |flag: &str| {
        plan.sources
            .iter()
            .find(|(f, _)| f == flag)
            .map_or("default".to_string(), |(_, s)| s.clone())
    };
    let mut out = String::from("readygate would do this (nothing was probed):\n");
    let s = &plan.settings;
    let _ = writeln!(
        out,
        "  deadline: {} (from {})",
        s.deadline.map_or("none, wait forever".to_string(), show),
        from("--timeout")
    );
    let _ = writeln!(
        out,
        "  each attempt: at most {} (from {})",
        show(s.attempt_timeout),
        from("--attempt-timeout")
    );
    let _ = writeln!(
        out,
        "  backoff: {} after a refused connection (from {}); after a \"not ready\" answer it grows x1.5 up to {} (from {}), with jitter",
        show(s.policy.interval),
        from("--interval"),
        show(s.policy.max_interval),
        from("--max-interval")
    );
    let _ = writeln!(
        out,
        "  ready: {} (from {})",
        stability(plan.stable),
        from("--stable")
    );
    let _ = writeln!(
        out,
        "  a permanent failure (wrong password, …): {} (from {})",
        if plan.retry_permanent {
            "keep waiting"
        } else {
            "stop at once, exit 1"
        },
        from("--retry-permanent")
    );
    // Said only when on: it sends packets of the gate's own.
    if plan.arp {
        let _ = writeln!(
            out,
            "  ARP: while a connection waits for an address on a link to answer, ask who has it every {} (from {}; needs CAP_NET_RAW)",
            show(crate::net::arp::EVERY),
            from("--arp")
        );
    }
    let what = match &plan.mode {
        Mode::Check => "healthcheck: one attempt per target, exit 0 or 1".to_string(),
        Mode::Wait { command: Some(c) } => format!(
            "then exec {} in place (its arguments are not shown)",
            crate::exec::program_name(c)
        ),
        Mode::Wait { command: None } => "then exit 0".to_string(),
    };
    let _ = writeln!(out, "  {what}");
    let _ = writeln!(out, "targets ({}):", plan.targets.len());
    for (i, t) in plan.targets.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, t.name);
        for line in t.probe.explain() {
            let _ = writeln!(out, "     {line}");
        }
        if let Some(st) = t.rules.stable {
            let _ = writeln!(out, "     ready: {} (#stable)", stability(st));
        }
        if t.rules.optional {
            let _ = writeln!(
                out,
                "     optional: waited for until the deadline, then given up with a warning"
            );
        }
        if t.rules.down {
            let _ = writeln!(out, "     inverted (#down): ready when it does NOT answer");
        }
    }
    // The warnings a real run prints at start (a variable nobody reads, a flag beating one).
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "notes:");
        for note in &plan.notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    out
}

fn stability(s: Stability) -> String {
    match s {
        Stability::Once => "at the first success".to_string(),
        Stability::InARow(n) => format!("after {n} successes in a row"),
        Stability::HeldFor(d) => format!("after staying up for {}", show(d)),
    }
}
