//! Pseudonyms for personal data: the dump2py transformer `anonymize`, built
//! as a shared library (`libdump2py_anonymize.so`).
//!
//! ```sh
//! export DUMP2PY_ANONYMIZE_SECRET='a long random secret'
//! dump2py -d sqlite:db.sqlite3 --plugin target/release/libdump2py_anonymize.so \
//!     -T 'anonymize:columns=email|phone|gsm|first_name|last_name|contacts_partner.name' OUT
//! ```
//!
//! Arguments (after `anonymize:`, separated by commas):
//!
//! | argument | meaning |
//! |---|---|
//! | `columns=A\|B\|…` | required: the columns to replace, each a bare column name (`email`: that column in every table) or `table.column` (`contacts_partner.name`: only there) |
//! | `secret=S` | the key of the pseudonyms; without it, the environment variable `DUMP2PY_ANONYMIZE_SECRET` (which keeps it out of the process list). One of them is required and not empty. A secret can't contain a comma. |
//! | `domain=D` | the domain of email pseudonyms (default `example.com`) |
//!
//! Each value is replaced by a pseudonym computed from the value alone
//! with HMAC-SHA256 keyed by the secret: the same value gives the same
//! pseudonym in every table and every run with the same secret (text joins
//! still join), another secret gives others, and without the secret the
//! original can't be recovered (short of guessing it and the secret).
//!
//! - NULL and the empty string stay as they are.
//! - The shape follows the column's name: a column whose name contains
//!   `mail` gets an email, `u` and 16 hex digits at the domain
//!   (`u3f9a0c…@example.com`); one containing `phone`, `gsm`, `fax`,
//!   `mobile` or `tel` keeps its punctuation and length, each digit replaced
//!   (`+32 87 12 34 56` → `+71 40 93 18 02`); any other gets a capital and
//!   seven letters or digits (`Kq7mw2ra`).
//! - A column that is unique alone (its primary key or a one-column unique
//!   constraint) gets 14 characters (70 bits) instead of 8, so that
//!   distinct values stay distinct (with 64 bits or more, the chance of one
//!   collision among a million values is below one in ten million). Phone
//!   pseudonyms have only as many digits as the value.
//! - A pseudonym never exceeds the column's declared length (`varchar(N)`);
//!   it is cut to fit, which costs uniqueness only for very short columns.
//! - Only text columns can be replaced: naming another kind is an error, as
//!   is `table.column` naming a column that table lacks.

use std::collections::HashMap;

use dump2py_sdk::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SECRET_ENV: &str = "DUMP2PY_ANONYMIZE_SECRET";
const USAGE: &str =
    "expected -T 'anonymize:columns=COL|TABLE.COL|…[,secret=S][,domain=D]' (secret= or DUMP2PY_ANONYMIZE_SECRET)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Email,
    Phone,
    Name,
}

/// How one column of a table is replaced.
#[derive(Debug, Clone)]
struct Plan {
    index: usize,
    column: String,
    style: Style,
    max_len: Option<usize>,
    unique: bool,
}

pub struct Anonymize {
    key: Hmac<Sha256>,
    domain: String,
    /// `(None, column)` for a bare name, `(Some(table), column)` else.
    columns: Vec<(Option<String>, String)>,
    /// Which of `columns` matched a column of some table.
    matched: Vec<bool>,
    plans: HashMap<String, Vec<Plan>>,
}

/// The arguments' keys.
const KEYS: [&str; 3] = ["secret", "columns", "domain"];

/// The edit distance of two short words (Levenshtein).
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

fn usage(message: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{message}; {USAGE}"))
}

impl Anonymize {
    /// Parses the arguments; `env_secret` is `DUMP2PY_ANONYMIZE_SECRET`.
    pub fn new(args: &str, env_secret: Option<String>) -> Result<Anonymize> {
        let (mut secret, mut columns, mut domain) = (None, None, None);
        // The text of an argument may be part of a secret cut at a comma:
        // messages name arguments by position, never show their text.
        for (n, part) in args.split(',').enumerate() {
            if part.trim().is_empty() {
                continue;
            }
            let nth = n + 1;
            let comma = "(a secret with a comma must be given in DUMP2PY_ANONYMIZE_SECRET)";
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| usage(format!("argument {nth} is not KEY=VALUE {comma}")))?;
            let slot = match k.trim() {
                "secret" => &mut secret,
                "columns" => &mut columns,
                "domain" => &mut domain,
                other => {
                    // A misspelt key is shown with its correction: one
                    // letter from a key's name, it says nothing of a secret.
                    let word = other.bytes().all(|b| b.is_ascii_lowercase());
                    let hint = KEYS
                        .iter()
                        .find(|key| word && edits(other, key) <= 1)
                        .map(|key| format!(" ('{other}': did you mean {key}?)"))
                        .unwrap_or_default();
                    return Err(usage(format!(
                        "argument {nth} is not secret=, columns= or domain={hint} {comma}"
                    )));
                }
            };
            if slot.replace(v.to_string()).is_some() {
                return Err(usage(format!("'{}' is given twice", k.trim())));
            }
        }
        let secret = secret
            .or(env_secret)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| usage("no secret: give secret=S or set DUMP2PY_ANONYMIZE_SECRET"))?;
        let columns = columns
            .ok_or_else(|| usage("no columns: name them with columns=A|B"))?
            .split('|')
            .map(|c| {
                let c = c.trim();
                let valid = |s: &str| {
                    !s.is_empty()
                        && s.chars()
                            .all(|ch| ch.is_alphanumeric() || matches!(ch, '_' | '$' | '-'))
                };
                match c.split_once('.') {
                    Some((t, col)) if valid(t) && valid(col) => {
                        Ok((Some(t.to_string()), col.to_string()))
                    }
                    None if valid(c) => Ok((None, c.to_string())),
                    _ => Err(usage(format!("'{c}' is not a column or table.column"))),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let domain = domain.unwrap_or_else(|| "example.com".to_string());
        let domain_ok = !domain.is_empty()
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
        if !domain_ok {
            return Err(usage(format!("domain '{domain}' is not a domain name")));
        }
        let key = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|e| usage(format!("the secret can't key HMAC: {e}")))?;
        Ok(Anonymize {
            key,
            domain,
            matched: vec![false; columns.len()],
            columns,
            plans: HashMap::new(),
        })
    }

    fn plan(&mut self, table: &Table) -> Result<Vec<Plan>> {
        let mut plans = Vec::new();
        for (t, c) in &self.columns {
            if t.as_deref() == Some(table.name.as_str()) && table.column(c).is_none() {
                return Err(Error::Usage(format!(
                    "table {} has no column {c} (named in columns=)",
                    table.name
                )));
            }
        }
        for (index, col) in table.columns.iter().enumerate() {
            let mut named = false;
            for (i, (t, c)) in self.columns.iter().enumerate() {
                if *c == col.name && t.as_ref().is_none_or(|t| *t == table.name) {
                    self.matched[i] = true;
                    named = true;
                }
            }
            if !named {
                continue;
            }
            if col.kind != ColumnKind::Text {
                return Err(Error::Usage(format!(
                    "column {}.{} is {} ({:?}), not text: only text columns can be anonymised",
                    table.name, col.name, col.declared_type, col.kind
                )));
            }
            let unique = table.primary_key == [col.name.as_str()]
                || table.unique.iter().any(|u| u == &[col.name.as_str()]);
            plans.push(Plan {
                index,
                column: col.name.clone(),
                style: style(&col.name),
                max_len: max_len(&col.declared_type),
                unique,
            });
        }
        Ok(plans)
    }

    fn digest(&self, value: &[u8]) -> [u8; 32] {
        let mut mac = self.key.clone();
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// The pseudonym of a non-empty value.
    fn pseudonym(&self, value: &str, p: &Plan) -> String {
        let d = self.digest(value.as_bytes());
        let name = |len: usize| {
            // A capital, then base-32 characters from the digest's first 80 bits.
            const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
            let mut bits = u128::from_be_bytes(d[..16].try_into().unwrap_or([0; 16]));
            let mut s = String::with_capacity(len);
            s.push((b'A' + d[16] % 26) as char);
            for _ in 1..len {
                s.push(ALPHABET[(bits & 31) as usize] as char);
                bits >>= 5;
            }
            s
        };
        let wanted = if p.unique { 14 } else { 8 };
        let out = match p.style {
            Style::Email => {
                let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
                let room = p
                    .max_len
                    .map_or(16, |m| m.saturating_sub(self.domain.len() + 2));
                if room >= 4 {
                    format!("u{}@{}", &hex[..room.min(16)], self.domain)
                } else {
                    name(wanted)
                }
            }
            Style::Phone if value.chars().any(|c| c.is_ascii_digit()) => {
                let mut n = 0;
                value
                    .chars()
                    .map(|c| {
                        if c.is_ascii_digit() {
                            // Past 32 digits, a digest of the digest.
                            let byte = if n < 32 {
                                d[n]
                            } else {
                                self.digest(&d)[n % 32] ^ n as u8
                            };
                            n += 1;
                            (b'0' + byte % 10) as char
                        } else {
                            c
                        }
                    })
                    .collect()
            }
            Style::Phone | Style::Name => name(wanted),
        };
        // Django's max_length counts characters; a phone's punctuation may
        // be any character.
        match p.max_len {
            Some(m) if out.chars().count() > m => out.chars().take(m).collect(),
            _ => out,
        }
    }

    fn replace(&self, v: &mut Value, p: &Plan) {
        let text = match &mut *v {
            Value::Null => return,
            Value::Text(s) if s.is_empty() => return,
            Value::Text(s) => std::mem::take(s),
            // Text columns may hold other types in SQLite: replace those too.
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Decimal(s) | Value::Json(s) => s.clone(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => format!("{other:?}"),
        };
        *v = Value::Text(self.pseudonym(&text, p));
    }
}

/// Which shape a column's pseudonyms take, from its name.
fn style(column: &str) -> Style {
    let c = column.to_ascii_lowercase();
    if c.contains("mail") {
        Style::Email
    } else if ["phone", "gsm", "fax", "mobile", "tel"]
        .iter()
        .any(|p| c.contains(p))
    {
        Style::Phone
    } else {
        Style::Name
    }
}

/// `varchar(254)`, `character varying(30)`, `nchar(10)` → the length.
fn max_len(declared: &str) -> Option<usize> {
    let d = declared.to_ascii_lowercase();
    let (name, rest) = d.split_once('(')?;
    if !name.contains("char") {
        return None;
    }
    let n = rest.split([')', ',']).next()?.trim();
    n.parse().ok().filter(|&n: &usize| n > 0)
}

impl Anonymize {
    /// The replaced columns by table, tables by name, columns in table order.
    fn replaced(&self) -> Vec<(&str, Vec<&str>)> {
        let mut tables: Vec<(&str, Vec<&str>)> = (self.plans.iter())
            .filter(|(_, plans)| !plans.is_empty())
            .map(|(t, plans)| {
                (
                    t.as_str(),
                    plans.iter().map(|p| p.column.as_str()).collect(),
                )
            })
            .collect();
        tables.sort();
        tables
    }
}

impl Transformer for Anonymize {
    fn table(&mut self, input: &Table) -> Result<Table> {
        let plans = self.plan(input)?;
        self.plans.insert(input.name.clone(), plans);
        Ok(input.clone())
    }

    fn batch(&mut self, input: &Table, _output: &Table, batch: &mut Batch) -> Result<()> {
        if !self.plans.contains_key(&input.name) {
            let plans = self.plan(input)?;
            self.plans.insert(input.name.clone(), plans);
        }
        let plans = match self.plans.get(&input.name) {
            Some(p) if !p.is_empty() => p,
            _ => return Ok(()),
        };
        let width = batch.width.max(1);
        for row in batch.values.chunks_mut(width) {
            for p in plans {
                if let Some(v) = row.get_mut(p.index) {
                    self.replace(v, p);
                }
            }
        }
        Ok(())
    }

    /// Every name in `columns=` must have matched a column: a typo must
    /// never leave the data it meant in clear.
    fn finish(&mut self) -> Result<Vec<String>> {
        let unmatched: Vec<String> = (self.columns.iter().zip(&self.matched))
            .filter(|(_, m)| !**m)
            .map(|((t, c), _)| match t {
                Some(t) => format!("{t}.{c}"),
                None => c.clone(),
            })
            .collect();
        let replaced = self.replaced();
        if !unmatched.is_empty() {
            let would: Vec<String> = (replaced.iter())
                .flat_map(|(t, cols)| cols.iter().map(move |c| format!("{t}.{c}")))
                .collect();
            let would = if would.is_empty() {
                "no column at all".to_string()
            } else {
                would.join(", ")
            };
            return Err(Error::Usage(format!(
                "columns=: {} {} no column of any table (the columns that would be \
                 replaced: {would})",
                unmatched.join(", "),
                if unmatched.len() == 1 {
                    "matches"
                } else {
                    "match"
                },
            )));
        }
        Ok((replaced.iter())
            .map(|(t, cols)| format!("anonymised table {t}: {}", cols.join(", ")))
            .collect())
    }
}

pub fn create(args: &str) -> Result<Box<dyn Transformer>> {
    let env = std::env::var(SECRET_ENV).ok();
    Ok(Box::new(Anonymize::new(args, env)?))
}

dump2py_sdk::export_plugin! {
    name: "anonymize",
    version: env!("CARGO_PKG_VERSION"),
    transformers: [("anonymize", create)],
}

#[cfg(test)]
mod tests;
