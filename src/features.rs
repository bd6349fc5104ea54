//! The optional parts of readygate (cargo features) and whether this build has each: the heavy
//! protocols, `--exec-check`, TLS, and the container engine's targets. The default build has them all; a build for TCP and HTTP
//! only (`--no-default-features --features tls`) carries none of the other protocols' code. A part
//! left out is still known by name, so its use is refused at start saying which feature it needs
//! instead of looking like a typing mistake.

/// Every optional part, and whether this build has it. `--version` and `--help` list them.
pub const FEATURES: &[(&str, bool)] = &[
    ("postgres", cfg!(feature = "postgres")),
    ("mysql", cfg!(feature = "mysql")),
    ("redis", cfg!(feature = "redis")),
    ("grpc", cfg!(feature = "grpc")),
    ("amqp", cfg!(feature = "amqp")),
    ("nats", cfg!(feature = "nats")),
    ("mqtt", cfg!(feature = "mqtt")),
    ("memcached", cfg!(feature = "memcached")),
    ("exec-check", cfg!(feature = "exec-check")),
    ("tls", cfg!(feature = "tls")),
    ("docker", cfg!(feature = "docker")),
];

/// Whether this build has a feature of [`FEATURES`].
pub fn built_with(feature: &str) -> bool {
    FEATURES.iter().any(|&(name, on)| on && name == feature)
}

/// What a build without `feature` says of a part that needs it.
pub fn not_built(what: &str, feature: &str) -> String {
    format!("{what} is not in this build (feature {feature}; the default build has every feature)")
}

/// The features this build has, and those it left out, by name.
pub fn listed() -> (Vec<&'static str>, Vec<&'static str>) {
    let pick = |on: bool| {
        FEATURES
            .iter()
            .filter(|f| f.1 == on)
            .map(|f| f.0)
            .collect::<Vec<_>>()
    };
    (pick(true), pick(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_of_the_manifest_is_listed_once() {
        let manifest = include_str!("../Cargo.toml");
        let default = manifest
            .lines()
            .find(|l| l.starts_with("default = ["))
            .expect("a default feature list");
        let mut named: Vec<&str> = default.split('"').skip(1).step_by(2).collect();
        named.sort_unstable();
        let mut listed: Vec<&str> = FEATURES.iter().map(|f| f.0).collect();
        listed.sort_unstable();
        assert_eq!(named, listed);
    }

    #[test]
    fn a_missing_part_names_its_feature() {
        let said = not_built("postgres://", "postgres");
        assert!(
            said.starts_with("postgres:// is not in this build (feature postgres"),
            "{said}"
        );
        assert!(built_with("tls") == cfg!(feature = "tls"));
        assert!(!built_with("no-such-feature"));
        let (with, without) = listed();
        assert_eq!(with.contains(&"tls"), cfg!(feature = "tls"));
        assert_eq!(without.contains(&"tls"), !cfg!(feature = "tls"));
    }
}
