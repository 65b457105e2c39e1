use super::*;

fn numeric(ndigits: &[u16], weight: i16, sign: u16, dscale: u16) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [ndigits.len() as u16, weight as u16, sign, dscale] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    for d in ndigits {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b
}

fn text(ndigits: &[u16], weight: i16, sign: u16, dscale: u16) -> String {
    numeric_text(&numeric(ndigits, weight, sign, dscale)).unwrap_or_else(|e| e)
}

#[test]
fn numerics_exactly() {
    assert_eq!(text(&[12, 5000], 0, 0, 4), "12.5000");
    assert_eq!(text(&[1], -1, 0x4000, 4), "-0.0001");
    assert_eq!(text(&[], 0, 0, 0), "0");
    assert_eq!(text(&[], 0, 0, 2), "0.00");
    assert_eq!(text(&[1], 2, 0, 0), "100000000");
    assert_eq!(text(&[5], -3, 0, 12), "0.000000000005");
    assert_eq!(text(&[9999, 9999], 0, 0, 4), "9999.9999");
    assert_eq!(text(&[1, 2345], 1, 0, 3), "12345.000");
    // 20 integer and 20 fractional digits.
    assert_eq!(
        text(
            &[1234, 5678, 9012, 3456, 7890, 1234, 5678, 9012, 3456, 7890],
            4,
            0x4000,
            20
        ),
        "-12345678901234567890.12345678901234567890"
    );
    assert!(text(&[], 0, 0xC000, 0).contains("NaN"));
    assert!(text(&[], 0, 0xD000, 0).contains("Infinity"));
    assert!(numeric_text(&[0, 1]).is_err());
}

#[test]
fn dates_and_times() {
    assert_eq!(date(0).map(|d| d.to_string()), Ok("2000-01-01".into()));
    assert_eq!(
        date(-730_119).map(|d| d.to_string()),
        Ok("0001-01-01".into())
    );
    assert!(date(-730_120).is_err_and(|e| e.contains("0001-12-31 BC")));
    assert!(date(i32::MAX).is_err_and(|e| e.contains("infinity")));
    assert_eq!(
        time(86_399_999_999).map(|t| t.to_string()),
        Ok("23:59:59.999999".into())
    );
    assert!(time(DAY_US).is_err());
    let t = timestamp(-1, Some(0)).map(|t| t.to_string());
    assert_eq!(t, Ok("1999-12-31 23:59:59.999999+00:00".into()));
    assert!(timestamp(i64::MIN, None).is_err_and(|e| e.contains("-infinity")));
}

#[test]
fn intervals() {
    let iv = |us: i64, days: i32, months: i32| {
        let mut b = us.to_be_bytes().to_vec();
        b.extend_from_slice(&days.to_be_bytes());
        b.extend_from_slice(&months.to_be_bytes());
        interval(&b)
    };
    assert_eq!(iv(7_203_000_004, 1, 0), Ok(93_603_000_004));
    assert_eq!(iv(86_399_999_999, -1, 0), Ok(-1));
    assert!(iv(0, 0, 1).is_err_and(|e| e.contains("month")));
}

/// Length-prefixed items of the binary formats (None: NULL).
fn items(out: &mut Vec<u8>, items: &[Option<&[u8]>]) {
    for item in items {
        match item {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }
}

#[test]
fn arrays_ranges_and_hstore() {
    let int4 = |n: i32| n.to_be_bytes().to_vec();
    // int4[][] {{1,NULL},{3,4}}: 2 dimensions of 2.
    let mut b = Vec::new();
    for w in [2i32, 1, 23, 2, 1, 2, 1] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    let (one, three, four) = (int4(1), int4(3), int4(4));
    items(&mut b, &[Some(&one), None, Some(&three), Some(&four)]);
    let grid = Decoder::Array(&Decoder::Int4).decode(&b);
    let row = |a: Value, b: Value| Value::Array(vec![a, b]);
    assert_eq!(
        grid,
        Ok(Value::Array(vec![
            row(Value::Int(1), Value::Null),
            row(Value::Int(3), Value::Int(4))
        ]))
    );
    // Truncated, or with bytes left over: an error, never a panic.
    assert!(Decoder::Array(&Decoder::Int4)
        .decode(&b[..b.len() - 1])
        .is_err());
    let mut long = b.clone();
    long.push(0);
    assert!(Decoder::Array(&Decoder::Int4).decode(&long).is_err());
    let empty = [0u8; 12];
    assert_eq!(
        Decoder::Array(&Decoder::Int4).decode(&empty),
        Ok(Value::Array(vec![]))
    );
    // int4range [1,10), (,5], empty.
    let mut r = vec![0x02];
    items(&mut r, &[Some(&int4(1)), Some(&int4(10))]);
    let range = |lower, upper, lower_inc, upper_inc, empty| {
        Ok(Value::Range(Box::new(Range {
            lower,
            upper,
            lower_inc,
            upper_inc,
            empty,
        })))
    };
    let ints = Decoder::Range(&Decoder::Int4);
    assert_eq!(
        ints.decode(&r),
        range(
            Some(Value::Int(1)),
            Some(Value::Int(10)),
            true,
            false,
            false
        )
    );
    let mut r = vec![0x08 | 0x04];
    items(&mut r, &[Some(&int4(5))]);
    assert_eq!(
        ints.decode(&r),
        range(None, Some(Value::Int(5)), false, true, false)
    );
    assert_eq!(ints.decode(&[0x01]), range(None, None, false, false, true));
    assert!(ints.decode(&[]).is_err());
    // hstore: a => 1, b => NULL.
    let mut h = 2i32.to_be_bytes().to_vec();
    items(&mut h, &[Some(b"a"), Some(b"1"), Some(b"b"), None]);
    assert_eq!(
        Decoder::Hstore.decode(&h),
        Ok(Value::Map(vec![
            ("a".into(), Some("1".into())),
            ("b".into(), None)
        ]))
    );
    let mut bad = 1i32.to_be_bytes().to_vec();
    items(&mut bad, &[None, Some(b"1")]);
    assert!(Decoder::Hstore
        .decode(&bad)
        .is_err_and(|e| e.contains("NULL")));
    assert_eq!(column_kind("_int4", "integer[]"), ColumnKind::Composite);
    assert_eq!(column_kind("tstzrange", "tstzrange"), ColumnKind::Composite);
    assert_eq!(
        column_kind("_point", "point[]"),
        ColumnKind::Unsupported("point[]".into())
    );
}

#[test]
fn floats_and_kinds() {
    assert_eq!(float4(0.1), 0.1);
    assert!(float4(-0.0).is_sign_negative());
    assert!(float4(f32::NAN).is_nan());
    assert_eq!(column_kind("int8", "bigint"), ColumnKind::Int);
    assert_eq!(
        column_kind("point", "point"),
        ColumnKind::Unsupported("point".into())
    );
}
