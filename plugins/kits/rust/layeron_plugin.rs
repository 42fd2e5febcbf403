//! Rust bindings for the Layeron plugin ABI, version 1: Sources/CLayeronPlugin/include/layeron/plugin.h,
//! declaration for declaration, with the header's comments on ownership and threading left there
//! (docs/plugin-abi.md explains them). Copy this file next to your plugin's source and write
//! `mod layeron_plugin;` (or `#[path = "…/layeron_plugin.rs"] mod layeron_plugin;`): plain `rustc`
//! then builds one crate with no dependencies. The example plugins/examples/ledger/ledger.rs uses it.
//!
//! The assertions at the end stop the build if a size here differs from the C side's (checked by
//! Sources/CLayeronPlugin/abi_layout.c), on 64-bit targets, the only ones the host runs on. They
//! catch a dropped, added or resized field, not two fields of one size swapped: `offset_of!` needs
//! Rust 1.77, newer than Debian 12's 1.63, which this file keeps building with.
#![allow(non_camel_case_types, dead_code)]

use std::ffi::c_void;
use std::os::raw::c_char;

/// LAYERON_PLUGIN_ABI_VERSION: the ABI this file describes.
pub const LAYERON_PLUGIN_ABI_VERSION: u32 = 1;

/// Return codes of plugin functions (`layeron_status`).
pub const LAYERON_OK: i32 = 0;
pub const LAYERON_RETRY: i32 = 1;
pub const LAYERON_ERROR: i32 = 2;
/// Return codes of host services only.
pub const LAYERON_UNSUPPORTED: i32 = 3;
pub const LAYERON_INVALID: i32 = 4;

/// Levels for `layeron_host.log`.
pub const LAYERON_LOG_DEBUG: i32 = 0;
pub const LAYERON_LOG_INFO: i32 = 1;
pub const LAYERON_LOG_WARN: i32 = 2;
pub const LAYERON_LOG_ERROR: i32 = 3;

/// `layeron_event.flags`: this attempt was started by an operator's replay.
pub const LAYERON_EVENT_REPLAY: u32 = 1 << 0;
/// `layeron_plugin_descriptor.flags`: handlers may run on several threads at once.
pub const LAYERON_PLUGIN_CONCURRENT: u32 = 1 << 0;

/// A borrowed byte string: `len` bytes at `ptr`, not NUL-terminated. Frozen (16 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct layeron_bytes {
    pub ptr: *const u8,
    pub len: u64,
}

impl layeron_bytes {
    /// Lends `data` for one host call; the host copies it before returning.
    pub fn lend(data: &[u8]) -> layeron_bytes {
        layeron_bytes { ptr: data.as_ptr(), len: data.len() as u64 }
    }

    /// Borrows the host's bytes as a slice, valid only during the call that received them.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes for as long as the slice is used.
    pub unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.ptr, self.len as usize)
        }
    }
}

/// One HTTP header as received; the name is lower-case. Frozen (32 bytes).
#[repr(C)]
pub struct layeron_header {
    pub name: layeron_bytes,
    pub value: layeron_bytes,
}

/// One event handed to a handler, owned by the host until the handler returns (216 bytes in v1).
/// `type_` is the header's `type`.
#[repr(C)]
pub struct layeron_event {
    pub struct_size: u32,
    pub abi_version: u32,
    pub flags: u32,
    pub attempt: u32,
    pub id: layeron_bytes,
    pub webhook: layeron_bytes,
    pub provider: layeron_bytes,
    pub type_: layeron_bytes,
    pub provider_event_id: layeron_bytes,
    pub handler: layeron_bytes,
    pub headers: *const layeron_header,
    pub header_count: u64,
    pub body: layeron_bytes,
    pub received_at_ms: i64,
    pub reserved: [*mut c_void; 8],
}

/// Opaque, host-owned result of one call: only ever behind a pointer.
#[repr(C)]
pub struct layeron_result {
    _opaque: [u8; 0],
}

/// The host's services (136 bytes in v1). Call a function appended after v1 only when
/// `struct_size` covers it.
#[repr(C)]
pub struct layeron_host {
    pub struct_size: u32,
    pub abi_version: u32,
    pub host_data: *mut c_void,
    pub log: extern "C" fn(*const layeron_host, i32, layeron_bytes),
    pub result_set_message: extern "C" fn(*mut layeron_result, layeron_bytes),
    pub result_set_retry_after_ms: extern "C" fn(*mut layeron_result, u64),
    pub result_set_http_status: extern "C" fn(*mut layeron_result, u32),
    pub result_add_http_header: extern "C" fn(*mut layeron_result, layeron_bytes, layeron_bytes),
    pub result_set_http_body: extern "C" fn(*mut layeron_result, layeron_bytes),
    pub emit: extern "C" fn(*const layeron_host, layeron_bytes, layeron_bytes, layeron_bytes, layeron_bytes) -> i32,
    pub reserved: [*mut c_void; 8],
}

/// `layeron_handle_fn`.
pub type layeron_handle_fn = extern "C" fn(*mut c_void, *const layeron_event, *mut layeron_result) -> i32;
/// The descriptor's `init`.
pub type layeron_init_fn = extern "C" fn(*const layeron_host, layeron_bytes, *mut layeron_result, *mut *mut c_void) -> i32;
/// The descriptor's `shutdown`.
pub type layeron_shutdown_fn = extern "C" fn(*mut c_void);
/// `layeron_plugin_entry_fn`: export it as `#[no_mangle] pub extern "C" fn layeron_plugin_entry`.
pub type layeron_plugin_entry_fn = extern "C" fn(u32, *const layeron_host) -> *const layeron_plugin_descriptor;

/// A named handler; `reserved` must be null. Frozen (32 bytes).
#[repr(C)]
pub struct layeron_handler {
    pub name: *const c_char,
    pub handle: Option<layeron_handle_fn>,
    pub reserved: [*mut c_void; 2],
}

/// What a plugin is (128 bytes in v1): returned by the entry function, owned by the plugin until it
/// is unloaded (a `static` is the usual choice).
#[repr(C)]
pub struct layeron_plugin_descriptor {
    pub struct_size: u32,
    pub abi_version: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub flags: u32,
    pub handler_count: u32,
    pub handlers: *const layeron_handler,
    pub init: Option<layeron_init_fn>,
    pub shutdown: Option<layeron_shutdown_fn>,
    pub reserved: [*mut c_void; 8],
}

/// Lets a `static` hold the descriptor and handler array: statics with raw pointers are not `Sync`
/// by themselves, and these are immutable for the library's life.
#[repr(transparent)]
pub struct Shared<T>(pub T);
unsafe impl<T> Sync for Shared<T> {}

#[cfg(target_pointer_width = "64")]
const _: () = {
    use std::mem::size_of;
    assert!(size_of::<layeron_bytes>() == 16);
    assert!(size_of::<layeron_header>() == 32);
    assert!(size_of::<layeron_event>() == 216);
    assert!(size_of::<layeron_host>() == 136);
    assert!(size_of::<layeron_handler>() == 32);
    assert!(size_of::<layeron_plugin_descriptor>() == 128);
};
