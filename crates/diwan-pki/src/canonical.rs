//! Canonical JSON for signing, after RFC 8785 (JCS).
//!
//! Supported subset: objects, arrays, strings, booleans, null and integers. Object members
//! are sorted by the UTF-16 code units of their names; no insignificant whitespace; strings
//! escape only `"`, `\` and control characters (`\b \t \n \f \r`, others as lower-case
//! `\u00xx`), everything else as raw UTF-8. Numbers are written as serde_json prints them,
//! which equals JCS for integers within ±2^53; floats are outside the supported subset.

use serde_json::Value;

/// The canonical UTF-8 bytes of `value`.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                write_value(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x00..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        String::from_utf8(canonical_json(v)).unwrap()
    }

    #[test]
    fn keys_sorted_without_whitespace() {
        let v = json!({"b": 1, "a": [true, null, {"z": -2, "y": "x"}], "": 0});
        assert_eq!(
            canon(&v),
            r#"{"":0,"a":[true,null,{"y":"x","z":-2}],"b":1}"#
        );
    }

    #[test]
    fn sort_is_by_utf16_code_units() {
        // U+1F600 is D83D DE00 in UTF-16, below U+FB33 (and above it in UTF-8 or scalar order).
        let v = json!({"\u{FB33}": 1, "\u{1F600}": 2, "a": 3, "é": 4});
        assert_eq!(
            canon(&v),
            "{\"a\":3,\"é\":4,\"\u{1F600}\":2,\"\u{FB33}\":1}"
        );
    }

    #[test]
    fn arabic_is_raw_utf8_and_escapes_are_minimal() {
        let v = json!({"name_ar": "مكتب الضبط", "s": "q\"b\\s/\n\t\u{1}\u{7f}é"});
        assert_eq!(
            canon(&v),
            "{\"name_ar\":\"مكتب الضبط\",\"s\":\"q\\\"b\\\\s/\\n\\t\\u0001\u{7f}é\"}"
        );
    }

    #[test]
    fn integers_and_round_trip() {
        let v = json!({"n": 9007199254740991_i64, "m": -1, "z": 0});
        let bytes = canonical_json(&v);
        assert_eq!(bytes, br#"{"m":-1,"n":9007199254740991,"z":0}"#);
        let back: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, v);
    }
}
