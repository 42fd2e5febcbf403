//! Example plugin in Rust: "ledger". Built with plain rustc, no crates, to show the ABI is nothing but
//! C: the declarations below mirror layeron/plugin.h field for field (Sources/CLayeronPlugin/abi_layout.c
//! freezes the same offsets on the C side).
//!
//!   rustc --edition 2021 --crate-type cdylib -O -o plugins/ledger.so plugins/examples/ledger/ledger.rs
//!
//! Its one handler, "record", notes each event in the server log and in the attempt's message, with the
//! handler name, body length and header count it read from the borrowed event.
#![allow(non_camel_case_types)]

use std::ffi::c_void;
use std::os::raw::c_char;
use std::ptr;

const LAYERON_PLUGIN_ABI_VERSION: u32 = 1;
const LAYERON_OK: i32 = 0;
const LAYERON_ERROR: i32 = 2;
const LAYERON_LOG_INFO: i32 = 1;
const LAYERON_PLUGIN_CONCURRENT: u32 = 1 << 0;
const LAYERON_EVENT_REPLAY: u32 = 1 << 0;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct layeron_bytes {
    ptr: *const u8,
    len: u64,
}

impl layeron_bytes {
    /// Lends `data` for one host call; the host copies it before returning.
    fn lend(data: &[u8]) -> layeron_bytes {
        layeron_bytes { ptr: data.as_ptr(), len: data.len() as u64 }
    }

    /// Borrows the host's bytes as a slice, valid only during the call that received them.
    unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.ptr, self.len as usize)
        }
    }
}

#[repr(C)]
pub struct layeron_header {
    name: layeron_bytes,
    value: layeron_bytes,
}

#[repr(C)]
pub struct layeron_event {
    struct_size: u32,
    abi_version: u32,
    flags: u32,
    attempt: u32,
    id: layeron_bytes,
    webhook: layeron_bytes,
    provider: layeron_bytes,
    type_: layeron_bytes,
    provider_event_id: layeron_bytes,
    handler: layeron_bytes,
    headers: *const layeron_header,
    header_count: u64,
    body: layeron_bytes,
    received_at_ms: i64,
    reserved: [*mut c_void; 8],
}

/// Opaque, host-owned: only ever behind a pointer.
#[repr(C)]
pub struct layeron_result {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct layeron_host {
    struct_size: u32,
    abi_version: u32,
    host_data: *mut c_void,
    log: extern "C" fn(*const layeron_host, i32, layeron_bytes),
    result_set_message: extern "C" fn(*mut layeron_result, layeron_bytes),
    result_set_retry_after_ms: extern "C" fn(*mut layeron_result, u64),
    result_set_http_status: extern "C" fn(*mut layeron_result, u32),
    result_add_http_header: extern "C" fn(*mut layeron_result, layeron_bytes, layeron_bytes),
    result_set_http_body: extern "C" fn(*mut layeron_result, layeron_bytes),
    emit: extern "C" fn(*const layeron_host, layeron_bytes, layeron_bytes, layeron_bytes, layeron_bytes) -> i32,
    reserved: [*mut c_void; 8],
}

type HandleFn = extern "C" fn(*mut c_void, *const layeron_event, *mut layeron_result) -> i32;
type InitFn = extern "C" fn(*const layeron_host, layeron_bytes, *mut layeron_result, *mut *mut c_void) -> i32;
type ShutdownFn = extern "C" fn(*mut c_void);

#[repr(C)]
pub struct layeron_handler {
    name: *const c_char,
    handle: Option<HandleFn>,
    reserved: [*mut c_void; 2],
}

#[repr(C)]
pub struct layeron_plugin_descriptor {
    struct_size: u32,
    abi_version: u32,
    name: *const c_char,
    version: *const c_char,
    description: *const c_char,
    flags: u32,
    handler_count: u32,
    handlers: *const layeron_handler,
    init: Option<InitFn>,
    shutdown: Option<ShutdownFn>,
    reserved: [*mut c_void; 8],
}

/// Statics holding raw pointers are not `Sync` by themselves; these are immutable for the library's life.
#[repr(transparent)]
pub struct Shared<T>(T);
unsafe impl<T> Sync for Shared<T> {}

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
