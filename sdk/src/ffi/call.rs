//! One call across the ABI, both directions: [`Out`], the host's callbacks
//! for it; [`Call`], which collects what the plugin hands back and turns its
//! status into a `Result`; and [`guard`], which runs the plugin's code for
//! a shim, turning its error or panic into `ERR` and a one-line message.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Once;

use super::{one_line, one_short_line, FFI_Batch, FFI_Table, Str, ERR, GO_ON, OK, STOP};
use dump2py_model::batch::Batch;
use dump2py_model::error::{Error, Result};
use dump2py_model::schema::Table;
use dump2py_plugin::BatchFn;

/// The host's callbacks for one call. The plugin passes its results to
/// them; what it passes is borrowed for the callback only (the host copies).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// The size of this struct as the host knows it: a callback added
    /// later is there only if this covers it.
    pub size: usize,
    pub ctx: *mut c_void,
    /// The error of the call that is about to return `ERR`: one line.
    /// `table` is null, or names the table whose data caused it (a source
    /// that can't read one table): with `--tolerate` that table is skipped.
    pub error: unsafe extern "C" fn(ctx: *mut c_void, message: Str, table: Str),
    /// A source's `describe`; a transformer's `finish` and a sink's
    /// `warnings`, once per line.
    pub text: unsafe extern "C" fn(ctx: *mut c_void, text: Str),
    /// A source's `schema` (once per table, in database order) and a
    /// transformer's `table` (at most once: not called means unchanged).
    pub table: unsafe extern "C" fn(ctx: *mut c_void, table: *const FFI_Table),
    /// A source's `read_table` (once per batch) and a transformer's `batch`
    /// (at most once: not called means unchanged). Returns [`GO_ON`], or
    /// [`STOP`]: the plugin stops and returns at once.
    pub batch: unsafe extern "C" fn(ctx: *mut c_void, batch: *const FFI_Batch) -> i32,
}

/// A call on an instance with nothing but its callbacks.
pub type InstanceFn = unsafe extern "C" fn(instance: *mut c_void, out: *const Out) -> i32;
/// Drops an instance (or what it wrote); cannot fail.
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

// ---- the host's side ----

/// One call into a plugin: what it handed back, for the host.
pub(crate) struct Call<'a> {
    /// Who is called, for errors: `sink NAME (plugin P V, PATH)`.
    label: &'a str,
    error: Option<String>,
    /// The table the error belongs to, if the plugin says so.
    error_table: Option<String>,
    /// Every `out.text`, in order.
    pub texts: Vec<String>,
    pub tables: Vec<Table>,
    pub batch: Option<Batch>,
    /// Where a source's batches go, as they come.
    consumer: Option<&'a mut BatchFn<'a>>,
    /// What went wrong on our side during a callback: it wins over the
    /// plugin's own error, which is only its echo.
    failed: Option<Error>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<'a> Call<'a> {
    pub fn new(label: &'a str) -> Call<'a> {
        Call {
            label,
            error: None,
            error_table: None,
            texts: Vec::new(),
            tables: Vec::new(),
            batch: None,
            consumer: None,
            failed: None,
            panic: None,
        }
    }

    /// A call whose batches go to `consumer` as they come.
    pub fn feeding(label: &'a str, consumer: &'a mut BatchFn<'a>) -> Call<'a> {
        Call {
            consumer: Some(consumer),
            ..Call::new(label)
        }
    }

    /// An error of this plugin's, labelled.
    pub fn fail(label: &str, message: impl Into<String>) -> Error {
        Error::Plugin {
            plugin: label.to_string(),
            message: message.into(),
        }
    }

    /// Data the plugin handed over that the host can't read.
    fn bad_data(&mut self, message: &str) {
        self.failed = Some(Call::fail(
            self.label,
            format!("gave bad data: {}", one_line(message)),
        ));
    }

    fn out(&mut self) -> Out {
        Out {
            size: std::mem::size_of::<Out>(),
            ctx: self as *mut Call as *mut c_void,
            error: cb_error,
            text: cb_text,
            table: cb_table,
            batch: cb_batch,
        }
    }

    /// Calls into the plugin and turns its status into a result.
    pub fn run(mut self, f: impl FnOnce(*const Out) -> i32) -> Result<Call<'a>> {
        let out = self.out();
        // For a crash inside the plugin: the handler names it.
        let outer = IN_PLUGIN.with(|c| c.replace((self.label.as_ptr(), self.label.len())));
        // `out` holds the only pointer to `self` while the plugin runs.
        let status = f(&out);
        IN_PLUGIN.with(|c| c.set(outer));
        if let Some(p) = self.panic.take() {
            resume_unwind(p);
        }
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if status != OK {
            let message = (self.error.take()).unwrap_or_else(|| "failed without saying why".into());
            // A table's fault stays one: `--tolerate` may skip that table.
            return Err(match self.error_table.take() {
                Some(table) => Error::Table {
                    table,
                    message: format!("{}: {message}", self.label),
                },
                None => Call::fail(self.label, message),
            });
        }
        Ok(self)
    }

    /// Calls a plugin's `open` or `create`: the instance it made.
    pub fn create(
        label: &str,
        f: impl FnOnce(*const Out, *mut *mut c_void) -> i32,
    ) -> Result<*mut c_void> {
        let mut instance: *mut c_void = std::ptr::null_mut();
        Call::new(label).run(|out| f(out, &mut instance))?;
        Ok(instance)
    }
}

/// Runs a callback body; a panic is kept for the host to resume once the
/// plugin has returned (it must not unwind through the plugin's frames).
unsafe fn callback<R>(ctx: *mut c_void, fallback: R, f: impl FnOnce(&mut Call) -> R) -> R {
    if ctx.is_null() {
        return fallback;
    }
    let c = ctx as *mut Call;
    match catch_unwind(AssertUnwindSafe(|| f(&mut *c))) {
        Ok(r) => r,
        Err(p) => {
            (*c).panic = Some(p);
            fallback
        }
    }
}

unsafe extern "C" fn cb_error(ctx: *mut c_void, message: Str, table: Str) {
    callback(ctx, (), |c| {
        let text = |s: Str| match s.as_bytes() {
            Ok(b) => one_short_line(&String::from_utf8_lossy(b)),
            Err(e) => format!("(unreadable: {e})"),
        };
        c.error = Some(text(message));
        c.error_table = (!table.ptr.is_null()).then(|| text(table));
    })
}

unsafe extern "C" fn cb_text(ctx: *mut c_void, text: Str) {
    callback(ctx, (), |c| match text.to_string() {
        Ok(t) => c.texts.push(t),
        Err(e) => c.bad_data(&e),
    })
}

unsafe extern "C" fn cb_table(ctx: *mut c_void, table: *const FFI_Table) {
    callback(ctx, (), |c| match table.as_ref().map(|t| t.to_core()) {
        None => c.bad_data("a null table"),
        Some(Ok(t)) => c.tables.push(t),
        Some(Err(e)) => c.bad_data(&e),
    })
}

unsafe extern "C" fn cb_batch(ctx: *mut c_void, batch: *const FFI_Batch) -> i32 {
    callback(ctx, STOP, |c| {
        if c.failed.is_some() {
            return STOP;
        }
        let b = match batch.as_ref().map(|b| b.to_core()) {
            None => {
                c.bad_data("a null batch");
                return STOP;
            }
            Some(Err(e)) => {
                c.bad_data(&e);
                return STOP;
            }
            Some(Ok(b)) => b,
        };
        match c.consumer.as_mut() {
            Some(consume) => match consume(b) {
                Ok(true) => GO_ON,
                // The host knows why it stops.
                Ok(false) => STOP,
                Err(e) => {
                    c.failed = Some(e);
                    STOP
                }
            },
            None => {
                c.batch = Some(b);
                GO_ON
            }
        }
    })
}

// ---- the plugin's side ----

thread_local! {
    /// The label of the plugin this thread is in a call of (null: none):
    /// read by the crash handler, so a plain `Cell` of constant init.
    static IN_PLUGIN: Cell<(*const u8, usize)> = const { Cell::new((std::ptr::null(), 0)) };
    /// How many shims are running on this thread: their panics are reported
    /// as errors, not printed.
    static IN_SHIM: Cell<u32> = const { Cell::new(0) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn payload_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// A plugin library has its own copy of std, so this hook sees only the
/// plugin's panics: inside a shim it keeps the message for the error
/// instead of printing it; elsewhere the previous hook runs.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_SHIM.with(Cell::get) > 0 {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let text = format!("{}{at}", payload_text(info.payload()));
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

/// Why a call failed: one line, and the table at fault if any.
pub(crate) struct Failure {
    message: String,
    table: Option<String>,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let (message, table) = match e {
            // dump2py puts the table back in front.
            Error::Table { table, message } => (message, Some(table)),
            Error::Value {
                table,
                column,
                pk,
                message,
            } => (
                format!("column {column}, primary key {pk}: {message}"),
                Some(table),
            ),
            other => (other.to_string(), None),
        };
        Failure { message, table }
    }
}

/// Runs `f`, catching panics; returns the value or why not.
pub(crate) fn catching<R>(f: impl FnOnce() -> Result<R>) -> std::result::Result<R, Failure> {
    install_hook();
    IN_SHIM.with(|d| d.set(d.get() + 1));
    let r = catch_unwind(AssertUnwindSafe(f));
    IN_SHIM.with(|d| d.set(d.get().saturating_sub(1)));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.into()),
        Err(payload) => {
            let text = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| payload_text(payload.as_ref()));
            Err(Failure {
                message: format!("panicked: {text}"),
                table: None,
            })
        }
    }
}

/// A shim's body: `OK`, or `ERR` after telling `out` why.
pub(crate) fn guard(out: *const Out, f: impl FnOnce() -> Result<()>) -> i32 {
    match catching(f) {
        Ok(()) => OK,
        Err(f) => {
            let message = one_line(&f.message);
            if !out.is_null() {
                // SAFETY: dump2py passes a valid `Out` for the call.
                unsafe {
                    ((*out).error)((*out).ctx, Str::new(&message), Str::opt(f.table.as_deref()))
                };
            }
            ERR
        }
    }
}

/// An error in what dump2py passed (it never should).
pub(crate) fn host_data(message: impl std::fmt::Display) -> Error {
    Error::Usage(format!("bad data from dump2py: {message}"))
}

/// # Safety
/// `p` is null or an instance made by `put_instance::<T>`.
pub(crate) unsafe fn instance<'a, T>(p: *mut c_void) -> Result<&'a mut T> {
    (p as *mut T)
        .as_mut()
        .ok_or_else(|| host_data("a null instance"))
}

/// # Safety
/// `out` is null or valid for the call.
pub(crate) unsafe fn out<'a>(out: *const Out) -> Result<&'a Out> {
    out.as_ref().ok_or_else(|| host_data("a null out"))
}

/// # Safety
/// `t` is null or valid for the call.
pub(crate) unsafe fn table(t: *const FFI_Table) -> Result<Table> {
    t.as_ref()
        .ok_or_else(|| host_data("a null table"))?
        .to_core()
        .map_err(host_data)
}

/// # Safety
/// `b` is null or valid for the call.
pub(crate) unsafe fn batch(b: *const FFI_Batch) -> Result<Batch> {
    b.as_ref()
        .ok_or_else(|| host_data("a null batch"))?
        .to_core()
        .map_err(host_data)
}

/// # Safety
/// `slot` is null or writable.
pub(crate) unsafe fn put_instance<T>(slot: *mut *mut c_void, value: T) -> Result<()> {
    if slot.is_null() {
        return Err(host_data("nowhere to put the instance"));
    }
    *slot = Box::into_raw(Box::new(value)) as *mut c_void;
    Ok(())
}

/// Drops an instance; a panic in its `Drop` is swallowed (nowhere to report it).
///
/// # Safety
/// `p` is null or an instance made by `put_instance::<T>`, not used after.
pub(crate) unsafe fn drop_instance<T>(p: *mut c_void) {
    if !p.is_null() {
        let _ = catching(|| {
            drop(Box::from_raw(p as *mut T));
            Ok(())
        });
    }
}

/// The plugin's function that `ctx` points to (`open` or `create`).
///
/// # Safety
/// `ctx` is null or the pointer the declaration was made with.
pub(crate) unsafe fn context<'a, F>(ctx: *const c_void) -> Result<&'a F> {
    (ctx as *const F)
        .as_ref()
        .ok_or_else(|| host_data("a null context"))
}

/// The actions the crash handler replaced, restored before it returns.
static mut PREVIOUS: [std::mem::MaybeUninit<libc::sigaction>; 5] =
    [const { std::mem::MaybeUninit::uninit() }; 5];
const CRASHES: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
];

/// A crash (a plugin's segmentation fault, `abort()`, …) ends the process
/// with its signal, as before, but first writes one line on stderr naming
/// the signal and, if the crash is inside a plugin's call, the plugin.
/// Everything the handler does is async-signal-safe: `write`, then the
/// previous action restored (Rust's own: its stack-overflow report).
pub fn watch_crashes() {
    extern "C" fn on_crash(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut c_void) {
        fn say(bytes: &[u8]) {
            // SAFETY: a valid buffer; write is async-signal-safe.
            unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        }
        let name: &[u8] = match sig {
            libc::SIGSEGV => b"SIGSEGV, a segmentation fault",
            libc::SIGBUS => b"SIGBUS, a bus error",
            libc::SIGILL => b"SIGILL, an illegal instruction",
            libc::SIGFPE => b"SIGFPE, an arithmetic error",
            _ => b"SIGABRT, an abort",
        };
        say(b"\nerror: dump2py crashed (");
        say(name);
        say(b")");
        let (ptr, len) = IN_PLUGIN.with(Cell::get);
        if !ptr.is_null() {
            say(b" in ");
            // SAFETY: the label lives while its call runs, which crashed.
            say(unsafe { std::slice::from_raw_parts(ptr, len) });
        }
        say(b": no output was written; the next run removes what it staged\n");
        let i = CRASHES.iter().position(|s| *s == sig).unwrap_or(0);
        // SAFETY: restores the action saved at install; sigaction and
        // raise are async-signal-safe.
        unsafe {
            let previous = std::ptr::addr_of!(PREVIOUS[i]).cast::<libc::sigaction>();
            libc::sigaction(sig, previous, std::ptr::null_mut());
            // Sent (kill, raise, abort): sent again to the previous action.
            // A fault happens again when the instruction is retried.
            if info.is_null() || (*info).si_code <= 0 {
                libc::raise(sig);
            }
        }
    }
    // SAFETY: installs a handler of the right signature; PREVIOUS is
    // written here once, before any crash can read it.
    unsafe {
        for (i, sig) in CRASHES.iter().enumerate() {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_crash as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let previous = std::ptr::addr_of_mut!(PREVIOUS[i]).cast::<libc::sigaction>();
            libc::sigaction(*sig, &action, previous);
        }
    }
}
