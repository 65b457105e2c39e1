//! Python's `Decimal` as Django's `DecimalField` gives it: quantized to the
//! field's places (half to even), and its `str()`, which switches to
//! exponent form for small numbers (`0E-7`), as Lino's dump and dumpdata
//! write it.

/// A finite decimal: `(-1)^neg * digits * 10^exp`, `digits` without
/// leading zeros (but at least one digit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dec {
    pub neg: bool,
    pub digits: Vec<u8>,
    pub exp: i64,
}

/// Text that is not a finite decimal number: NaN and infinities pass
/// through as Python writes them.
pub fn special(text: &str) -> Option<&'static str> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    match t.to_ascii_lowercase().as_str() {
        "nan" => Some(if neg { "-NaN" } else { "NaN" }),
        "inf" | "infinity" => Some(if neg { "-Infinity" } else { "Infinity" }),
        _ => None,
    }
}

/// A leading `-` or `+`: whether negative, and the rest.
fn sign(t: &str) -> (bool, &str) {
    match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    }
}

impl Dec {
    /// Parses `-12.50`, `1e-7`, `.5` (what `Decimal(text)` accepts, less
    /// the special values).
    pub fn parse(text: &str) -> Option<Dec> {
        let t = text.trim();
        let (sign, t) = sign(t);
        let (mant, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
            None => (t, 0),
        };
        Dec::from_parts(sign, mant, exp)
    }

    /// `mant` is `int.frac` (either may be empty, not both).
    fn from_parts(neg: bool, mant: &str, exp: i64) -> Option<Dec> {
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let lead = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..lead.min(digits.len() - 1));
        Some(Dec {
            neg,
            digits,
            exp: exp.checked_sub(frac.len() as i64)?,
        })
    }

    fn is_zero(&self) -> bool {
        self.digits.iter().all(|&d| d == 0)
    }

    /// Without trailing zeros (`1.50` is `1.5`, zero is `0`): one text per
    /// number.
    pub fn normalized(&self) -> Dec {
        if self.is_zero() {
            return Dec {
                neg: false,
                digits: vec![0],
                exp: 0,
            };
        }
        let zeros = self.digits.iter().rev().take_while(|&&x| x == 0).count();
        Dec {
            neg: self.neg,
            digits: self.digits[..self.digits.len() - zeros].to_vec(),
            exp: self.exp + zeros as i64,
        }
    }

    /// The same number, whatever the exponents (`1.50` is `1.5`).
    pub fn same_number(&self, other: &Dec) -> bool {
        self.normalized() == other.normalized()
    }

    /// Rounds half to even so that the coefficient keeps `places` digits
    /// after the point (Python's `quantize`); `max_digits` is the context
    /// precision that Django's field gives: a result with more digits is
    /// Python's `InvalidOperation`.
    pub fn quantize(&self, places: u32, max_digits: Option<u32>) -> Result<Dec, String> {
        let target = -(places as i64);
        let mut out = self.clone();
        if self.exp < target {
            let drop = (target - self.exp) as usize;
            out = self.round_off(drop);
            out.exp = target;
        } else if self.exp > target {
            let add = (self.exp - target) as usize;
            if !self.is_zero() {
                out.digits.extend(std::iter::repeat_n(0, add));
            }
            out.exp = target;
        }
        if out.is_zero() {
            out.digits = vec![0];
        }
        if let Some(max) = max_digits {
            if !out.is_zero() && out.digits.len() > max as usize {
                return Err(format!(
                    "{} does not fit {max} digits with {places} decimal places",
                    self.to_python()
                ));
            }
        }
        Ok(out)
    }

    /// Keeps `prec` significant digits, half to even (Python's context
    /// rounding, as in `Context(prec=15).create_decimal_from_float`).
    pub fn round_significant(&self, prec: usize) -> Dec {
        if self.digits.len() <= prec || self.is_zero() {
            return self.clone();
        }
        let drop = self.digits.len() - prec;
        let mut out = self.round_off(drop);
        out.exp = self.exp + drop as i64;
        // A carry (999 → 1000) adds a digit: keep the precision.
        if out.digits.len() > prec {
            out.digits.pop();
            out.exp += 1;
        }
        out
    }

    /// The coefficient with its last `drop` digits rounded away (half to
    /// even); the exponent is left to the caller.
    fn round_off(&self, drop: usize) -> Dec {
        let n = self.digits.len();
        let keep = n.saturating_sub(drop);
        let mut kept: Vec<u8> = self.digits[..keep].to_vec();
        let rest: &[u8] = &self.digits[keep..];
        // Digits dropped beyond the coefficient's own are zeros.
        let first = if drop > n {
            0
        } else {
            rest.first().copied().unwrap_or(0)
        };
        let tail_nonzero = drop <= n && rest.iter().skip(1).any(|&d| d != 0);
        let last_odd = kept.last().is_some_and(|d| d % 2 == 1);
        let up = first > 5 || (first == 5 && (tail_nonzero || last_odd));
        if up {
            let mut i = kept.len();
            loop {
                if i == 0 {
                    kept.insert(0, 1);
                    break;
                }
                i -= 1;
                if kept[i] == 9 {
                    kept[i] = 0;
                } else {
                    kept[i] += 1;
                    break;
                }
            }
        }
        if kept.is_empty() {
            kept.push(0);
        }
        let lead = kept.iter().take_while(|&&d| d == 0).count();
        kept.drain(..lead.min(kept.len() - 1));
        Dec {
            neg: self.neg,
            digits: kept,
            exp: self.exp,
        }
    }

    /// Python's `str(Decimal)`.
    pub fn to_python(&self) -> String {
        let digits: String = self.digits.iter().map(|d| (b'0' + d) as char).collect();
        let n = digits.len() as i64;
        let left = self.exp + n;
        let dot = if self.exp <= 0 && left > -6 { left } else { 1 };
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        if dot <= 0 {
            s.push_str("0.");
            s.extend(std::iter::repeat_n('0', (-dot) as usize));
            s.push_str(&digits);
        } else if dot >= n {
            s.push_str(&digits);
            s.extend(std::iter::repeat_n('0', (dot - n) as usize));
        } else {
            s.push_str(&digits[..dot as usize]);
            s.push('.');
            s.push_str(&digits[dot as usize..]);
        }
        if left != dot {
            s.push_str(&format!("E{:+}", left - dot));
        }
        s
    }
}

/// Whether `text` is a decimal in plain notation with exactly `places`
/// places: the usual case (a database's decimals have the column's scale),
/// checked without allocating.
pub fn is_quantized(text: &str, places: u32) -> bool {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let frac_ok = match frac {
        None => places == 0,
        Some(f) => places > 0 && f.len() == places as usize,
    };
    let frac = frac.unwrap_or("");
    let all_digits = int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    let no_leading_zero = int.len() == 1 || !int.starts_with('0');
    // quantize writes -0.00 as 0.00.
    let not_negative_zero = !neg || int.bytes().chain(frac.bytes()).any(|b| b != b'0');
    frac_ok && !int.is_empty() && all_digits && no_leading_zero && not_negative_zero
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str, places: u32) -> String {
        Dec::parse(text)
            .map(|d| match d.quantize(places, None) {
                Ok(d) => d.to_python(),
                Err(e) => e,
            })
            .unwrap_or_default()
    }

    #[test]
    fn strings_like_python() {
        // str(Decimal(x)) in CPython 3.11
        for (text, py) in [
            ("12.50", "12.50"),
            ("0", "0"),
            ("-0", "-0"),
            ("1e5", "1E+5"),
            ("100", "100"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1E-7"),
            ("0.00000012", "1.2E-7"),
            ("123.456e-10", "1.23456E-8"),
            (".5", "0.5"),
            ("007.50", "7.50"),
        ] {
            let d = Dec::parse(text).expect(text);
            assert_eq!(d.to_python(), py, "{text}");
        }
        assert_eq!(Dec::parse("1.2.3"), None);
        assert_eq!(Dec::parse("abc"), None);
        assert_eq!(special("-inf"), Some("-Infinity"));
    }

    #[test]
    fn quantizes_like_python() {
        // Decimal(x).quantize(Decimal(1).scaleb(-places))
        assert_eq!(q("12.5", 4), "12.5000");
        assert_eq!(q("0", 4), "0.0000");
        assert_eq!(q("0", 7), "0E-7");
        assert_eq!(q("-0", 4), "-0.0000");
        assert_eq!(q("1.005", 2), "1.00");
        assert_eq!(q("1.015", 2), "1.02");
        assert_eq!(q("9.999", 2), "10.00");
        assert_eq!(q("2.5", 0), "2");
        assert_eq!(q("-0.00005", 4), "-0.0000");
        assert_eq!(q("0.00000015", 7), "2E-7");
        assert_eq!(q("1e-30", 2), "0.00");
        let d = Dec::parse("1000000000").expect("number");
        assert!(d.quantize(4, Some(12)).is_err());
        assert!(d.quantize(2, Some(12)).is_ok());
    }

    #[test]
    fn fifteen_significant_digits() {
        // Context(prec=15).create_decimal(x)
        let r = |t: &str| {
            Dec::parse(t)
                .map(|d| d.round_significant(15).to_python())
                .unwrap_or_default()
        };
        assert_eq!(r("0.30000000000000004"), "0.300000000000000");
        assert_eq!(r("1234567890123456789"), "1.23456789012346E+18");
        assert_eq!(r("99999999999999999"), "1.00000000000000E+17");
        assert_eq!(r("12.5"), "12.5");
    }
}
