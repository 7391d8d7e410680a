//! WebSocket frames as the ack hub reads them, request-status states, and data answers
//! (download URL or inline base64). Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privicore::fuzzing;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = format!("{:?}", fuzzing::ws_frame(&text));
    let _ = format!("{:?}", fuzzing::request_status(&text));
    let output_type = data.first().map_or(0, |b| i64::from(*b % 3));
    let _ = fuzzing::data_answer(output_type, &text);
});
