//! Example plugin in Rust: "ledger". Built with plain rustc, no crates, to show the ABI is nothing but
//! C. The declarations come from the bindings in plugins/kits/rust/layeron_plugin.rs, which mirror
//! layeron/plugin.h and check their sizes against it at compile time; `#[path]` makes them a module of
//! this one crate, so rustc needs only this file's path:
//!
//!   rustc --edition 2021 --crate-type cdylib -O -o plugins/ledger.so plugins/examples/ledger/ledger.rs
//!
//! Edition 2021, because Debian 12's rustc (1.63) knows no later one; under edition 2024 the export
//! below would be written `#[unsafe(no_mangle)]` (accepted in every edition from Rust 1.82).
//!
//! Its one handler, "record", notes each event in the server log and in the attempt's message, with the
//! handler name, body length and header count it read from the borrowed event.

#[path = "../../kits/rust/layeron_plugin.rs"]
mod layeron_plugin;

use layeron_plugin::*;
use std::ffi::c_void;
use std::os::raw::c_char;
use std::ptr;

/// The one place the version is written: used as a Rust string and, NUL-terminated, in the descriptor.
macro_rules! ledger_version {
    () => {
        "1.0.0"
    };
}
const VERSION: &str = ledger_version!();

/// The instance `init` makes and `shutdown` frees: Rust's allocator on both ends, never the host's.
struct Ledger {
    host: *const layeron_host,
}

extern "C" fn ledger_init(host: *const layeron_host, _config: layeron_bytes, _error: *mut layeron_result,
                          instance_out: *mut *mut c_void) -> i32 {
    if host.is_null() || instance_out.is_null() {
        return LAYERON_ERROR;
    }
    let ledger = Box::new(Ledger { host });
    unsafe {
        *instance_out = Box::into_raw(ledger) as *mut c_void;
        let line = format!("ledger {} ready", VERSION);
        ((*host).log)(host, LAYERON_LOG_INFO, layeron_bytes::lend(line.as_bytes()));
    }
    LAYERON_OK
}

extern "C" fn ledger_shutdown(instance: *mut c_void) {
    if !instance.is_null() {
        drop(unsafe { Box::from_raw(instance as *mut Ledger) });
    }
}

extern "C" fn record(instance: *mut c_void, event: *const layeron_event, result: *mut layeron_result) -> i32 {
    if instance.is_null() || event.is_null() {
        return LAYERON_ERROR;
    }
    unsafe {
        let ledger = &*(instance as *const Ledger);
        let host = &*ledger.host;
        let e = &*event;
        let text = |b: &layeron_bytes| String::from_utf8_lossy(b.as_slice()).into_owned();
        let line = format!(
            "ledger {} recorded {} {} via {}: {} body bytes, {} headers, attempt {}, replay {}",
            VERSION, text(&e.id), text(&e.type_), text(&e.handler), e.body.len, e.header_count, e.attempt,
            (e.flags & LAYERON_EVENT_REPLAY) != 0
        );
        (host.log)(ledger.host, LAYERON_LOG_INFO, layeron_bytes::lend(line.as_bytes()));
        (host.result_set_message)(result, layeron_bytes::lend(line.as_bytes()));
    }
    LAYERON_OK
}

static HANDLERS: Shared<[layeron_handler; 1]> = Shared([layeron_handler {
    name: b"record\0".as_ptr() as *const c_char,
    handle: Some(record),
    reserved: [ptr::null_mut(); 2],
}]);

static DESCRIPTOR: Shared<layeron_plugin_descriptor> = Shared(layeron_plugin_descriptor {
    struct_size: std::mem::size_of::<layeron_plugin_descriptor>() as u32,
    abi_version: LAYERON_PLUGIN_ABI_VERSION,
    name: b"ledger\0".as_ptr() as *const c_char,
    version: concat!(ledger_version!(), "\0").as_ptr() as *const c_char,
    description: b"Notes each event in the log (Rust example)\0".as_ptr() as *const c_char,
    flags: LAYERON_PLUGIN_CONCURRENT,
    handler_count: 1,
    handlers: &HANDLERS.0 as *const [layeron_handler; 1] as *const layeron_handler,
    init: Some(ledger_init),
    shutdown: Some(ledger_shutdown),
    reserved: [ptr::null_mut(); 8],
});

#[no_mangle]
pub extern "C" fn layeron_plugin_entry(host_abi_version: u32, _host: *const layeron_host) -> *const layeron_plugin_descriptor {
    if host_abi_version < LAYERON_PLUGIN_ABI_VERSION {
        return ptr::null();
    }
    &DESCRIPTOR.0
}
