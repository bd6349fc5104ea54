//! One protocol decoder, `engine_json` of `readygate::fuzz::DECODERS`, over bytes (no socket).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| assert!(readygate::fuzz::decode("engine_json", data)));
