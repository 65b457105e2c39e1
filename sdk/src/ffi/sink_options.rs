//! How a sink is created across the ABI: [`FFI_SinkOptions`] (the target and
//! the options as key-value pairs) as the host fills it in for the plugin,
//! and read back on the plugin's side ([`SinkOptionsRef`]).

use super::{slice, Prefixed, Str};
use dump2py_plugin::registry::{OptionValue, SinkOptions};

/// The key that carries [`SinkOptions::jobs`] among the key-value pairs.
const JOBS: &str = "jobs";

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KeyValue {
    pub key: Str,
    pub value: Str,
}

/// How a sink is created. `target` is a path (its bytes; UTF-8 on Windows),
/// `-` for standard output.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_SinkOptions {
    /// The size of this struct as the host knows it.
    pub size: usize,
    pub target: Str,
    pub overwrite: u8,
    pub max_row_count: u64,
    pub extra: *const KeyValue,
    pub n_extra: usize,
}

pub struct SinkOptionsRef<'a> {
    _target: std::borrow::Cow<'a, [u8]>,
    /// What `_extra` points into.
    _texts: Vec<(String, String)>,
    _extra: Vec<KeyValue>,
    raw: FFI_SinkOptions,
}

fn path_bytes(p: &std::path::Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(p.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        match p.to_string_lossy() {
            std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
            std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into_bytes()),
        }
    }
}

fn bytes_path(b: &[u8]) -> Result<std::path::PathBuf, String> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(std::ffi::OsStr::from_bytes(b).into())
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(b)
            .map(Into::into)
            .map_err(|e| format!("path is not UTF-8: {e}"))
    }
}

impl<'a> SinkOptionsRef<'a> {
    pub fn new(o: &'a SinkOptions) -> SinkOptionsRef<'a> {
        let target = path_bytes(&o.target);
        // The sink's own options as text, and `jobs`.
        let mut texts = o.texts();
        texts.push((JOBS.to_string(), o.jobs.to_string()));
        let extra: Vec<KeyValue> = texts
            .iter()
            .map(|(k, v)| KeyValue {
                key: Str::new(k),
                value: Str::new(v),
            })
            .collect();
        let raw = FFI_SinkOptions {
            size: std::mem::size_of::<FFI_SinkOptions>(),
            target: Str::bytes(&target),
            overwrite: o.overwrite as u8,
            max_row_count: o.max_row_count,
            extra: extra.as_ptr(),
            n_extra: extra.len(),
        };
        SinkOptionsRef {
            _target: target,
            _texts: texts,
            _extra: extra,
            raw,
        }
    }

    pub fn get(&self) -> &FFI_SinkOptions {
        &self.raw
    }
}

unsafe impl Prefixed for FFI_SinkOptions {
    const SIZE_AT: usize = 0;
    const MIN_SIZE: usize = std::mem::size_of::<FFI_SinkOptions>();
}

impl FFI_SinkOptions {
    /// # Safety
    /// `self` was read with [`Prefixed::read_prefixed`]; all pointers must
    /// be valid for the duration of the call.
    pub unsafe fn to_core(&self) -> Result<SinkOptions, String> {
        let mut o = SinkOptions {
            target: bytes_path(self.target.as_bytes()?)?,
            overwrite: self.overwrite != 0,
            max_row_count: self.max_row_count,
            jobs: 1,
            values: Default::default(),
        };
        for kv in slice(self.extra, self.n_extra)? {
            let (key, value) = (kv.key.to_string()?, kv.value.to_string()?);
            match key.as_str() {
                JOBS => o.jobs = value.parse().map_err(|_| format!("jobs {value:?}"))?,
                _ => drop(o.values.insert(key, OptionValue::Text(value))),
            }
        }
        Ok(o)
    }
}
