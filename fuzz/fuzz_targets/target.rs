//! One target string through the URL parser and every probe's option checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| readygate::fuzz::target(data));
