//! The C ABI between dump2py and plugin libraries. One file per interface
//! holds both directions: the `#[repr(C)]` declaration, the plugin side
//! (an `extern "C"` export of the Rust trait object, used by `dump2py-sdk`)
//! and the host side (a wrapper that implements the trait over the
//! declaration). `sdk/include/dump2py_plugin.h` declares the same types for
//! C, in sections of the same names; keep the two in step.
//!
//! - [`value`]: values and batches; [`table`]: tables, models and what a
//!   sink's `begin` gets; [`call`]: one call and its callbacks ([`Out`]);
//! - [`source`], [`sink`], [`transformer`]: the three interfaces;
//! - [`loader`]: the exported [`PluginDecl`], and loading a library.
//!
//! A library exports one static, [`SYMBOL`], a [`PluginDecl`] whose first
//! field is [`ABI_VERSION`]: the host reads nothing else of a plugin of
//! another version. Every declaration, and every struct the host fills in
//! for the plugin ([`Out`], [`FFI_DumpInfo`], [`FFI_SinkOptions`]), holds its own
//! size (after the version, in [`PluginDecl`]): a reader uses a field only
//! if the writer's size covers it, so a field added at the end later is an
//! addition, not a break.
//!
//! Memory: whatever one side passes to the other is borrowed for the
//! duration of that one call. The host hands tables, batches and models to
//! the plugin; the plugin hands its results (a text, tables, batches, an
//! error message) back through the callbacks of [`Out`], which copy them.
//! So each side frees only what it allocated. The one thing the host keeps
//! is an instance, which it gives back to the plugin's `destroy`.
//!
//! Every fallible function returns [`OK`] or [`ERR`]; with `ERR` the plugin
//! has first called `out.error` with a one-line message (and the table at
//! fault, if any).

#![cfg_attr(not(feature = "host"), allow(dead_code))]

pub mod call;
#[cfg(feature = "host")]
pub mod host;
pub mod loader;
pub mod sink;
pub mod sink_options;
pub mod source;
pub mod table;
pub mod transformer;
pub mod value;

pub use call::Out;
pub use loader::PluginDecl;
pub use sink::{Outcome, SinkDecl};
pub use sink_options::{FFI_SinkOptions, KeyValue};
pub use source::SourceDecl;
pub use table::{FFI_Column, FFI_DumpInfo, FFI_Field, FFI_ForeignKey, FFI_Model, FFI_Table};
pub use transformer::TransformerDecl;
pub use value::{kind, FFI_Batch, FFI_Value};

/// Bump on any change that is not a field added at the end of a sized
/// struct. Version 3 gave every declaration its size and the sink `wants`,
/// `warnings` and `publish`; the host refuses every other version.
pub const ABI_VERSION: u32 = 3;
/// The exported static's name, NUL-terminated for the dynamic loader.
pub const SYMBOL: &[u8] = b"DUMP2PY_PLUGIN\0";
pub const OK: i32 = 0;
pub const ERR: i32 = 1;
/// What `out.batch` answers a source: go on reading, or stop (and return
/// `OK`: the host knows why it stopped).
pub const GO_ON: i32 = 0;
pub const STOP: i32 = 1;

/// Borrowed bytes, UTF-8 where text is meant; not NUL-terminated. A null
/// `ptr` with `len` 0 is the empty string, or "none" where a field says so.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Str {
    pub ptr: *const u8,
    pub len: usize,
}

// A `Str` is an immutable view; the statics of the SDK's declarations hold them.
unsafe impl Sync for Str {}
unsafe impl Send for Str {}

impl Str {
    pub const NONE: Str = Str {
        ptr: std::ptr::null(),
        len: 0,
    };

    pub const fn new(s: &str) -> Str {
        Str {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    pub const fn bytes(b: &[u8]) -> Str {
        Str {
            ptr: b.as_ptr(),
            len: b.len(),
        }
    }

    pub fn opt(s: Option<&str>) -> Str {
        s.map_or(Str::NONE, Str::new)
    }

    /// # Safety
    /// `ptr` must point to `len` readable bytes that live for `'a`.
    pub unsafe fn as_bytes<'a>(self) -> Result<&'a [u8], String> {
        slice(self.ptr, self.len)
    }

    /// # Safety
    /// As [`Str::as_bytes`].
    pub unsafe fn to_str<'a>(self) -> Result<&'a str, String> {
        std::str::from_utf8(self.as_bytes()?).map_err(|e| format!("text is not UTF-8: {e}"))
    }

    /// None for a null pointer.
    ///
    /// # Safety
    /// As [`Str::as_bytes`].
    pub unsafe fn to_opt_str<'a>(self) -> Result<Option<&'a str>, String> {
        if self.ptr.is_null() {
            Ok(None)
        } else {
            self.to_str().map(Some)
        }
    }

    /// # Safety
    /// As [`Str::as_bytes`].
    pub unsafe fn to_string(self) -> Result<String, String> {
        self.to_str().map(str::to_string)
    }
}

/// A slice from a pointer and a length; a null pointer is only allowed
/// with length 0.
///
/// # Safety
/// A non-null `ptr` must point to `len` valid `T`s that live for `'a`.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], String> {
    if len == 0 {
        Ok(&[])
    } else if ptr.is_null() {
        Err(format!("null pointer with length {len}"))
    } else {
        Ok(std::slice::from_raw_parts(ptr, len))
    }
}

/// A list of names (primary-key columns, schemes, languages, …).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub ptr: *const Str,
    pub len: usize,
}

unsafe impl Sync for Names {}
unsafe impl Send for Names {}

impl Names {
    pub const fn new(names: &[Str]) -> Names {
        Names {
            ptr: names.as_ptr(),
            len: names.len(),
        }
    }

    /// # Safety
    /// The pointers must be valid for the duration of the call.
    pub unsafe fn to_vec(self) -> Result<Vec<String>, String> {
        slice(self.ptr, self.len)?
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

/// A struct that starts with its size (a `usize` at `SIZE_AT`), as the
/// writer's version of it declares it.
///
/// # Safety
/// All bytes zero must be a valid value (no functions, empty texts and
/// lists), whose bytes any prefix of another valid value may overwrite:
/// only plain pointers, integers and `Option<fn>`.
pub unsafe trait Prefixed: Copy {
    /// Where the size is.
    const SIZE_AT: usize;
    /// The size that covers every field the first version of the struct
    /// had: a writer must set at least those.
    const MIN_SIZE: usize;

    /// The struct as the reader knows it: the fields the writer's size
    /// covers, the later ones zero (absent).
    ///
    /// # Safety
    /// `p` is null or points to at least as many readable bytes as the
    /// size it holds says (and at least [`Prefixed::MIN_SIZE`]).
    unsafe fn read_prefixed(p: *const Self, what: &str) -> Result<Self, String> {
        if p.is_null() {
            return Err(format!("{what} is a null pointer"));
        }
        let size = std::ptr::read_unaligned((p as *const u8).add(Self::SIZE_AT) as *const usize);
        if size < Self::MIN_SIZE {
            return Err(format!(
                "{what} has size {size}, less than the {} of ABI version {ABI_VERSION}",
                Self::MIN_SIZE
            ));
        }
        let mut v: Self = std::mem::zeroed();
        let n = size.min(std::mem::size_of::<Self>());
        std::ptr::copy_nonoverlapping(p as *const u8, &mut v as *mut Self as *mut u8, n);
        Ok(v)
    }
}

/// Messages cross as one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest message of a plugin shown: more is cut, saying how much.
const MAX_MESSAGE: usize = 2000;

/// A plugin's message as one line of at most [`MAX_MESSAGE`] bytes (and a
/// note of how long it was).
pub(crate) fn one_short_line(s: &str) -> String {
    let mut line = one_line(s);
    if line.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str(&format!("… ({} bytes in all)", s.len()));
    }
    line
}

/// The error of a declaration without a function it must have.
pub(crate) fn missing(what: &str) -> String {
    format!("its declaration has no {what} function")
}
