//! What a server sends, to one attempt of the probe the first byte picks; an attempt that does not
//! end within its bound is a finding.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| assert!(readygate::fuzz::server_reply(data), "the attempt hung"));
