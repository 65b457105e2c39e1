//! UUIDs as Python writes them: `str(uuid.UUID(...))`, hyphenated and
//! lowercase.

/// Appends `u` as `str(uuid.UUID(bytes=u))`.
pub fn write_uuid(out: &mut String, u: &[u8; 16]) {
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
}

/// `str(uuid.UUID(bytes=u))` as a new `String`.
pub fn uuid_string(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    write_uuid(&mut s, u);
    s
}

/// The bytes of `uuid.UUID(text)`: hex with or without hyphens and braces,
/// after `urn:uuid:`.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let s = text
        .trim()
        .trim_start_matches("urn:")
        .trim_start_matches("uuid:");
    let mut hex = s.bytes().filter(|c| !matches!(c, b'-' | b'{' | b'}'));
    let mut u = [0u8; 16];
    for b in &mut u {
        let hi = (hex.next()? as char).to_digit(16)?;
        let lo = (hex.next()? as char).to_digit(16)?;
        *b = (hi << 4 | lo) as u8;
    }
    hex.next().is_none().then_some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_python_uuid() {
        let want = "12345678-1234-5678-9abc-def012345678";
        for text in [
            "12345678123456789ABCDEF012345678",
            "{12345678-1234-5678-9abc-def012345678}",
            " urn:uuid:12345678-1234-5678-9abc-def012345678 ",
            want,
        ] {
            let u = parse_uuid(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(uuid_string(&u), want, "{text}");
        }
        for bad in [
            "",
            "1234",
            "12345678123456789abcdef01234567g",
            &"0".repeat(34),
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
        let mut out = String::from("'");
        write_uuid(&mut out, &[0xab; 16]);
        assert_eq!(out, "'abababab-abab-abab-abab-abababababab");
    }
}
