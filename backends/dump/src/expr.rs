//! The Python expressions a dump holds, parsed, never evaluated: literals
//! (`None`, `True`, `False`, integers, floats, strings as `repr` writes
//! them, lists, tuples, dicts), names, attributes and calls with positional
//! and keyword arguments. Nothing here knows what a name means: the
//! readers of restore.py and of the data files accept only the names and
//! calls the Python sink writes.

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    None,
    Bool(bool),
    /// An integer token as written (`-12`, `0x1f`).
    Int(String),
    /// A float token as written (`1.5`, `-1e+100`).
    Float(String),
    Str(String),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Name(String),
    /// `-float('inf')`: a minus before anything but a number.
    Neg(Box<Expr>),
    Attr(Box<Expr>, String),
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        kwargs: Vec<(String, Expr)>,
        /// `**name` arguments.
        star_kwargs: Vec<String>,
    },
}

/// Why a text is not an expression, and where (a byte offset in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// The deepest nesting accepted: the sink's JSON is at most 190 deep, and
/// a data line nests it two levels more.
pub const MAX_DEPTH: usize = 200;

/// Parses `text` (one line, without its newline) as one expression.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
    };
    p.ws();
    let e = p.expr()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.err("unexpected text after the expression"));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> SyntaxError {
        SyntaxError {
            offset: self.i,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), SyntaxError> {
        match self.eat(c) {
            true => Ok(()),
            false => Err(self.err(&format!("expected '{}'", c as char))),
        }
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let mut e = self.atom()?;
        loop {
            self.ws();
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    self.ws();
                    let name = self.ident().ok_or_else(|| self.err("expected a name"))?;
                    e = Expr::Attr(Box::new(e), name);
                }
                Some(b'(') => {
                    self.i += 1;
                    e = self.call(e)?;
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(e)
    }

    fn call(&mut self, func: Expr) -> Result<Expr, SyntaxError> {
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        let mut star_kwargs = Vec::new();
        loop {
            if self.eat(b')') {
                break;
            }
            self.ws();
            if self.s[self.i..].starts_with(b"**") {
                self.i += 2;
                self.ws();
                let name = self.ident().ok_or_else(|| self.err("expected a name"))?;
                star_kwargs.push(name);
            } else {
                let start = self.i;
                match self.ident() {
                    Some(name) if self.eat(b'=') => {
                        let value = self.expr()?;
                        kwargs.push((name, value));
                    }
                    _ => {
                        self.i = start;
                        if !kwargs.is_empty() || !star_kwargs.is_empty() {
                            return Err(self.err("positional argument after a keyword argument"));
                        }
                        args.push(self.expr()?);
                    }
                }
            }
            if self.eat(b')') {
                break;
            }
            self.expect(b',')?;
        }
        Ok(Expr::Call {
            func: Box::new(func),
            args,
            kwargs,
            star_kwargs,
        })
    }

    /// Items up to `close`, separated by commas (a trailing one allowed);
    /// whether a comma was seen.
    fn items(&mut self, close: u8) -> Result<(Vec<Expr>, bool), SyntaxError> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if self.eat(close) {
                return Ok((items, comma));
            }
            items.push(self.expr()?);
            if self.eat(close) {
                return Ok((items, comma));
            }
            self.expect(b',')?;
            comma = true;
        }
    }

    fn atom(&mut self) -> Result<Expr, SyntaxError> {
        self.ws();
        match self.peek() {
            None => Err(self.err("expected an expression")),
            Some(b'\'' | b'"') => self.string().map(Expr::Str),
            Some(b'[') => {
                self.i += 1;
                self.items(b']').map(|(v, _)| Expr::List(v))
            }
            Some(b'(') => {
                self.i += 1;
                let (mut v, comma) = self.items(b')')?;
                match (v.len(), comma) {
                    (1, false) => Ok(v.remove(0)),
                    _ => Ok(Expr::Tuple(v)),
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut pairs = Vec::new();
                loop {
                    if self.eat(b'}') {
                        break;
                    }
                    let k = self.expr()?;
                    self.expect(b':')?;
                    let v = self.expr()?;
                    pairs.push((k, v));
                    if self.eat(b'}') {
                        break;
                    }
                    self.expect(b',')?;
                }
                Ok(Expr::Dict(pairs))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                let name = self.ident().ok_or_else(|| self.err("expected a name"))?;
                Ok(match name.as_str() {
                    "None" => Expr::None,
                    "True" => Expr::Bool(true),
                    "False" => Expr::Bool(false),
                    _ => Expr::Name(name),
                })
            }
            Some(_) => Err(self.err("expected an expression")),
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'_' || c.is_ascii_alphanumeric() {
                self.i += 1;
            } else {
                break;
            }
        }
        let name = &self.text[start..self.i];
        match name.bytes().next() {
            Some(c) if !c.is_ascii_digit() => Some(name.to_string()),
            _ => {
                self.i = start;
                None
            }
        }
    }

    fn number(&mut self) -> Result<Expr, SyntaxError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Ok(Expr::Neg(Box::new(self.expr()?)));
            }
        }
        if self.s[self.i..].starts_with(b"0x") {
            self.i += 2;
            let digits = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                self.i += 1;
            }
            if self.i == digits {
                return Err(self.err("expected hex digits"));
            }
            return Ok(Expr::Int(self.text[start..self.i].to_string()));
        }
        let digits = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == digits {
            return Err(self.err("expected a number"));
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            float = true;
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            float = true;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let exp = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == exp {
                return Err(self.err("expected an exponent"));
            }
        }
        let token = self.text[start..self.i].to_string();
        Ok(if float {
            Expr::Float(token)
        } else {
            // Python refuses `01`; repr never writes it.
            let d = token.trim_start_matches('-');
            if d.len() > 1 && d.starts_with('0') {
                return Err(SyntaxError {
                    offset: start,
                    message: "an integer with a leading zero".into(),
                });
            }
            Expr::Int(token)
        })
    }

    /// A string literal as `repr` writes it: no prefix, escapes `\\`,
    /// `\'`, `\"`, `\n`, `\r`, `\t`, `\xhh`, `\uhhhh`, `\Uhhhhhhhh`.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = String::new();
        loop {
            let run = self.i;
            while let Some(c) = self.peek() {
                if c == quote || c == b'\\' || c == b'\n' || c == b'\r' {
                    break;
                }
                self.i += 1;
            }
            out.push_str(&self.text[run..self.i]);
            match self.peek() {
                Some(c) if c == quote => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    match e {
                        b'\\' => out.push('\\'),
                        b'\'' => out.push('\''),
                        b'"' => out.push('"'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'x' => out.push(self.hex(2)?),
                        b'u' => out.push(self.hex(4)?),
                        b'U' => out.push(self.hex(8)?),
                        _ => {
                            self.i -= 2;
                            return Err(self.err("an escape the dump's strings never hold"));
                        }
                    }
                }
                _ => return Err(self.err("unterminated string")),
            }
        }
    }

    fn hex(&mut self, n: usize) -> Result<char, SyntaxError> {
        let digits = self
            .text
            .get(self.i..self.i + n)
            .filter(|d| d.bytes().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| self.err("expected hex digits in an escape"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.err("bad escape"))?;
        let c = char::from_u32(code)
            .ok_or_else(|| self.err("an escape of a surrogate or beyond Unicode"))?;
        self.i += n;
        Ok(c)
    }
}

impl Expr {
    /// The name of a bare name, or of a call's function when it is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Expr::Name(n) => Some(n),
            _ => None,
        }
    }

    /// `f(args)` with a plain name `f` and positional arguments only.
    pub fn simple_call(&self) -> Option<(&str, &[Expr])> {
        match self {
            Expr::Call {
                func,
                args,
                kwargs,
                star_kwargs,
            } if kwargs.is_empty() && star_kwargs.is_empty() => Some((func.name()?, args)),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<&str> {
        match self {
            Expr::Str(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_calls() {
        let e = parse(
            "loader.save(create_x(1,'a\\'b\\n',None,[\"\\u00e4\", 'x'],dt(2024,3,31,1,30,5),-0.5))",
        )
        .expect("parses");
        let Expr::Call { func, args, .. } = e else {
            panic!("a call")
        };
        assert_eq!(
            *func,
            Expr::Attr(Box::new(Expr::Name("loader".into())), "save".into())
        );
        let (name, inner) = args[0].simple_call().expect("create");
        assert_eq!(name, "create_x");
        assert_eq!(inner[1], Expr::Str("a'b\n".into()));
        assert_eq!(
            inner[3],
            Expr::List(vec![Expr::Str("ä".into()), Expr::Str("x".into())])
        );
        assert_eq!(inner[5], Expr::Float("-0.5".into()));
        assert_eq!(
            parse("f(a, **kw)"),
            Ok(Expr::Call {
                func: Box::new(Expr::Name("f".into())),
                args: vec![Expr::Name("a".into())],
                kwargs: vec![],
                star_kwargs: vec!["kw".into()],
            })
        );
        assert_eq!(
            parse("('a', None, ())").map(|e| matches!(e, Expr::Tuple(v) if v.len() == 3)),
            Ok(true)
        );
    }

    #[test]
    fn what_is_refused() {
        for bad in [
            "1 + 2",
            "'abc",
            "'\\q'",
            "'\\ud800'",
            "f(a=1, 2)",
            "01",
            "[1, 2",
            "x; import os",
            "lambda: 1",
            "b'x'",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
        let deep = "[".repeat(MAX_DEPTH + 5);
        assert!(parse(&deep).is_err_and(|e| e.message.contains("deeply")));
    }
}
