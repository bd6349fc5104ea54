//! One protocol decoder, `engine_log` of `readygate::fuzz::DECODERS`, over bytes (no socket).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| assert!(readygate::fuzz::decode("engine_log", data)));
