//! `repr()` of Python strings and floats, byte-identical to CPython 3.11's
//! so dumps diff cleanly against ones Python wrote.
//!
//! Everything writes into a caller-owned `String`: this runs once per value
//! of a dump (millions of times), so no per-value allocation on the fast paths.

/// Python's `str.isprintable()` for one character: what `repr` keeps.
pub use super::printable::is_printable;
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// ASCII bytes that `repr` copies verbatim (the quote is checked separately).
const PLAIN_ASCII: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = b != b'\\' as usize;
        b += 1;
    }
    t
};

/// How many leading bytes of `b` are printable ASCII other than `quote`
/// and `\`: text `repr` copies as it is inside `quote`. Eight bytes at a
/// time.
fn plain_run(b: &[u8], quote: u8) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether some byte of `w` is zero (exact about "some", not "which").
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_ne_bytes(word);
        let special = w & HIGHS != 0 // not ASCII
            || w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0 // below 0x20
            || has_zero(w ^ (ONES * 0x7f))
            || has_zero(w ^ (ONES * u64::from(quote)))
            || has_zero(w ^ (ONES * u64::from(b'\\')));
        if special {
            break;
        }
        i += 8;
    }
    while i < b.len() && PLAIN_ASCII[b[i] as usize] && b[i] != quote {
        i += 1;
    }
    i
}

/// Appends `repr(s)` as CPython 3.11 prints it.
pub fn write_str(out: &mut String, s: &str) {
    if plain_run(s.as_bytes(), b'\'') == s.len() {
        // The usual text: nothing to escape, no `'` to choose `"` for.
        out.reserve(s.len() + 2);
        out.push('\'');
        out.push_str(s);
        out.push('\'');
        return;
    }
    let q = quote_for(s);
    out.reserve(s.len() + 2);
    out.push(q as char);
    write_str_body(out, s, q);
    out.push(q as char);
}

/// `s` as a Python string literal in the quote `quote` (`b'"'` or
/// `b'\''`), escaped as `repr` escapes: Lino's `"..."` literals.
pub fn write_str_quoted(out: &mut String, s: &str, quote: u8) {
    let q = if quote == b'"' { b'"' } else { b'\'' };
    out.push(q as char);
    write_str_body(out, s, q);
    out.push(q as char);
}

/// `repr(s)` as a new `String`; prefer [`write_str`] in loops.
pub fn str_repr(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}

/// Python picks `"` only when that avoids escaping a `'`.
pub(super) fn quote_for(s: &str) -> u8 {
    let b = s.as_bytes();
    if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    }
}

/// `s` escaped as `repr` does inside the quote `quote`, without the quotes.
pub(super) fn write_str_body(out: &mut String, s: &str, quote: u8) {
    let bytes = s.as_bytes();
    // `run` starts the pending stretch of literal text, copied in one go.
    let (mut run, mut i) = (0, 0);
    while i < bytes.len() {
        i += plain_run(&bytes[i..], quote);
        let Some(&b) = bytes.get(i) else { break };
        if PLAIN_ASCII[b as usize] && b != quote {
            i += 1;
            continue;
        }
        if b < 0x80 {
            out.push_str(&s[run..i]);
            match b {
                b'\\' | b'\'' | b'"' => {
                    out.push('\\');
                    out.push(b as char);
                }
                b'\t' => out.push_str("\\t"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                _ => push_escape(out, u32::from(b)),
            }
            i += 1;
            run = i;
            continue;
        }
        // Two-byte UTF-8 (Latin, Greek, Cyrillic, ...): a bit per code point.
        if b & 0xe0 == 0xc0 {
            let c = (usize::from(b & 0x1f) << 6)
                | usize::from(bytes.get(i + 1).map_or(0, |b| b & 0x3f));
            if two_byte_printable()[c / 64] >> (c % 64) & 1 == 1 {
                i += 2;
                continue;
            }
        }
        // `i` is always on a char boundary: we only step by whole chars.
        let Some(c) = s[i..].chars().next() else {
            break;
        };
        if !is_printable(c) {
            out.push_str(&s[run..i]);
            push_escape(out, u32::from(c));
            run = i + c.len_utf8();
        }
        i += c.len_utf8();
    }
    out.push_str(&s[run..]);
}

/// [`is_printable`] of U+0000 to U+07FF, a bit each.
fn two_byte_printable() -> &'static [u64; 32] {
    static TABLE: OnceLock<[u64; 32]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u64; 32];
        for c in (0..0x800u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_printable(c))
        {
            t[c as usize / 64] |= 1 << (c as usize % 64);
        }
        t
    })
}

/// `\xNN`, `\uNNNN` or `\UNNNNNNNN`, lowercase, as `repr` does.
pub(super) fn push_escape(out: &mut String, c: u32) {
    let (kind, digits) = match c {
        0..=0xff => ('x', 2),
        0x100..=0xffff => ('u', 4),
        _ => ('U', 8),
    };
    out.push('\\');
    out.push(kind);
    for k in (0..digits).rev() {
        out.push(HEX[((c >> (4 * k)) & 0xf) as usize] as char);
    }
}

/// Fixed buffer so float formatting does not allocate.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 40],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends `repr(f)`: shortest round-trip digits, exponent form when the
/// decimal exponent is < -4 or >= 16. Non-finite values give `nan`/`inf`,
/// which are not literals; use [`write_float_literal`] for source code.
pub fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // Short decimals (amounts, rates) without `core::fmt`; repr writes
    // them in plain notation from 1e-4 on.
    if f.abs() >= 1e-4 {
        if let Some((m, places)) = dump2py_model::value::short_decimal(f) {
            dump2py_model::value::push_scaled(out, m, places);
            if places == 0 {
                out.push_str(".0");
            }
            return;
        }
    }
    // Rust's `{:e}` yields the shortest round-trip digits, as Python does
    // (e.g. "-1.2345e-7", "5e-324", "0e0"); only the layout differs, plus
    // exact ties between two shortest candidates: Rust rounds them up,
    // Python's dtoa to even.
    let mut sb = StackBuf::new();
    let mut alt = StackBuf::new();
    let formatted = write!(sb, "{f:e}").is_ok();
    let mut sci = sb.as_str();
    // Digits before the 'e' minus sign and point (cheaper than counting).
    let ndigits = sci
        .find('e')
        .unwrap_or(0)
        .saturating_sub(usize::from(sci.starts_with('-')) + usize::from(sci.contains('.')));
    if ndigits >= 16 && may_be_exact_tie(f) {
        let prec = ndigits - 1;
        // Fixed-precision formatting is exact and rounds half to even.
        if write!(alt, "{f:.prec$e}").is_ok()
            && alt.as_str() != sci
            && alt
                .as_str()
                .parse::<f64>()
                .is_ok_and(|g| g.to_bits() == f.to_bits())
        {
            sci = alt.as_str();
        }
    }
    let parts = sci.split_once('e').filter(|_| formatted);
    let Some((mant, exp)) = parts else {
        // Unreachable in practice; still produce a valid literal.
        let _ = write!(out, "{f:?}");
        return;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let (lead, frac) = mant.split_at(1.min(mant.len()));
    let frac = frac.strip_prefix('.').unwrap_or(frac);
    if neg {
        out.push('-');
    }
    if !(-4..16).contains(&exp) {
        out.push_str(lead);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        let _ = write!(out, "{e}");
        return;
    }
    let ndigits = 1 + frac.len() as i32;
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        push_zeros(out, -point);
        out.push_str(lead);
        out.push_str(frac);
    } else if point >= ndigits {
        out.push_str(lead);
        out.push_str(frac);
        push_zeros(out, point - ndigits);
        out.push_str(".0");
    } else {
        let split = (point - 1) as usize;
        out.push_str(lead);
        out.push_str(&frac[..split]);
        out.push('.');
        out.push_str(&frac[split..]);
    }
}

/// Whether two shortest candidates could be equally near `f`. Besides 16+
/// digits (fewer cannot both round-trip), that needs an exact value that is
/// a midpoint, i.e. has at most 18 significant digits: f = m * 2^-k with
/// m * 5^k < 10^18. Integer-valued and subnormal doubles never qualify.
fn may_be_exact_tie(f: f64) -> bool {
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | 1 << 52, biased - 1075)
    };
    if m == 0 {
        return false;
    }
    let tz = m.trailing_zeros();
    let (m, k) = (m >> tz, -(e + tz as i32));
    (1..=27).contains(&k) && u128::from(m) * 5u128.pow(k as u32) < 10u128.pow(18)
}

fn push_zeros(out: &mut String, n: i32) {
    for _ in 0..n {
        out.push('0');
    }
}

/// `repr(f)` as a new `String`; prefer [`write_float`] in loops.
pub fn float_repr(f: f64) -> String {
    let mut out = String::new();
    write_float(&mut out, f);
    out
}

/// Like [`write_float`], but NaN and infinities become `float('nan')`,
/// `float('inf')` and `-float('inf')` so the output is always evaluable.
pub fn write_float_literal(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("float('nan')");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 {
            "float('inf')"
        } else {
            "-float('inf')"
        });
    } else {
        write_float(out, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_runs_stop_at_the_first_byte_to_look_at() {
        for quote in [b'\'', b'"'] {
            let slow = |b: &[u8]| {
                (b.iter())
                    .position(|&c| !PLAIN_ASCII[c as usize] || c == quote)
                    .unwrap_or(b.len())
            };
            // Every byte value at every place of a run longer than two words.
            for special in 0..=255u8 {
                for at in 0..20 {
                    let mut b = vec![b'a'; 20];
                    b[at] = special;
                    assert_eq!(plain_run(&b, quote), slow(&b), "byte {special:#x} at {at}");
                }
            }
            assert_eq!(plain_run(b"", quote), 0);
        }
        // Lino's double-quoted literals escape `"` in the middle of a run.
        let mut out = String::new();
        write_str_quoted(&mut out, "table q'\"\\ and more text", b'"');
        assert_eq!(out, "\"table q'\\\"\\\\ and more text\"");
    }

    #[test]
    fn two_byte_characters_are_kept_or_escaped_as_is_printable_says() {
        for c in (0x80..0x800u32).filter_map(char::from_u32) {
            let mut kept = String::from("'a");
            kept.push(c);
            kept.push_str("b'");
            let escaped = format!(
                "'a\\{}{:02x}b'",
                if (c as u32) < 0x100 { 'x' } else { 'u' },
                c as u32
            );
            let escaped = if (c as u32) < 0x100 {
                escaped
            } else {
                format!("'a\\u{:04x}b'", c as u32)
            };
            let want = if is_printable(c) { kept } else { escaped };
            assert_eq!(str_repr(&format!("a{c}b")), want, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn str_quotes_and_escapes() {
        assert_eq!(str_repr(""), "''");
        assert_eq!(str_repr("plain ascii"), "'plain ascii'");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("say \"hi\""), "'say \"hi\"'");
        assert_eq!(str_repr("'\""), "'\\'\"'");
        assert_eq!(str_repr("a\\b"), "'a\\\\b'");
        assert_eq!(str_repr("\t\n\r\0\x1b\x7f"), "'\\t\\n\\r\\x00\\x1b\\x7f'");
        assert_eq!(str_repr("\u{a0}\u{ad}é"), "'\\xa0\\xadé'");
        assert_eq!(
            str_repr("\u{200b}\u{2028}\u{feff}"),
            "'\\u200b\\u2028\\ufeff'"
        );
        assert_eq!(str_repr("😀e\u{301}"), "'😀e\u{301}'");
        assert_eq!(str_repr("\u{e000}\u{10ffff}"), "'\\ue000\\U0010ffff'");
        assert_eq!(str_repr("\u{e0001}"), "'\\U000e0001'");
        let mut out = String::from("x=");
        write_str(&mut out, "y");
        assert_eq!(out, "x='y'");
    }

    #[test]
    fn float_reprs() {
        let cases: &[(f64, &str)] = &[
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789012345.0, "123456789012345.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e16, "1e+16"),
            (1.2345678901234568e16, "1.2345678901234568e+16"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (0.30000000000000004, "0.30000000000000004"),
            (100.0, "100.0"),
            (12.34, "12.34"),
            (1576589640413031.0 + 0.25, "1576589640413031.2"),
            (91274224887417.0 + 0.625, "91274224887417.62"),
        ];
        for &(f, want) in cases {
            assert_eq!(float_repr(f), want, "bits {:#x}", f.to_bits());
        }
        assert!(may_be_exact_tie(1576589640413031.0 + 0.75));
        for f in [0.1, 1e300, 5e-324, 1e16, 0.0, 2.0f64.powi(-30)] {
            assert!(!may_be_exact_tie(f), "{f}");
        }
        let mut out = String::new();
        write_float_literal(&mut out, f64::NAN);
        write_float_literal(&mut out, f64::NEG_INFINITY);
        write_float_literal(&mut out, 2.0);
        assert_eq!(out, "float('nan')-float('inf')2.0");
    }
}
