//! Splits a JSON array text into its elements' byte ranges, so that a `map` job can be handed out
//! in ranges of items without parsing or re-encoding them: the text of items `a..b` is
//! `[` + `text[start(a)..end(b - 1)]` + `]`.

/// Byte ranges `(start, end)` of the elements of the JSON array `text`, or `None` if `text` is
/// not a well-formed array at the top level (elements themselves are only delimited, not
/// validated: the JavaScript side produced them with `JSON.stringify`).
pub fn split_array(text: &[u8]) -> Option<Vec<(u32, u32)>> {
    let mut i = skip_ws(text, 0);
    if text.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_ws(text, i + 1);
    let mut items = Vec::new();
    if text.get(i) == Some(&b']') {
        return (skip_ws(text, i + 1) == text.len()).then_some(items);
    }
    loop {
        let start = i;
        let mut depth = 0usize;
        loop {
            match *text.get(i)? {
                b'"' => i = skip_string(text, i)?,
                b'[' | b'{' => {
                    depth += 1;
                    i += 1;
                }
                b']' | b'}' if depth > 0 => {
                    depth -= 1;
                    i += 1;
                }
                b',' | b']' if depth == 0 => break,
                b'}' => return None,
                _ => i += 1,
            }
        }
        let mut end = i;
        while end > start && text[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        if end == start {
            return None;
        }
        items.push((u32::try_from(start).ok()?, u32::try_from(end).ok()?));
        if text[i] == b']' {
            return (skip_ws(text, i + 1) == text.len()).then_some(items);
        }
        i = skip_ws(text, i + 1);
    }
}

fn skip_ws(text: &[u8], mut i: usize) -> usize {
    while text.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// `i` is at an opening quote; returns the index just past the closing one.
fn skip_string(text: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match *text.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn items(text: &str) -> Option<Vec<&str>> {
        split_array(text.as_bytes()).map(|r| r.iter().map(|&(s, e)| &text[s as usize..e as usize]).collect())
    }

    #[test]
    fn splits_top_level_elements() {
        assert_eq!(items("[]"), Some(vec![]));
        assert_eq!(items("[1]"), Some(vec!["1"]));
        assert_eq!(items("[1,2.5,-3e4]"), Some(vec!["1", "2.5", "-3e4"]));
        assert_eq!(
            items(r#"[[1,[2]],{"a":[1,2],"b":"]"},"x,y","q\"]",null,true]"#),
            Some(vec!["[1,[2]]", r#"{"a":[1,2],"b":"]"}"#, r#""x,y""#, r#""q\"]""#, "null", "true"])
        );
        assert_eq!(items(" [ 1 , \"a\" ] "), Some(vec!["1", "\"a\""]));
    }

    #[test]
    fn rejects_what_is_not_an_array() {
        for text in ["", "1", "{}", "[", "[1,", "[1,]", "[,1]", "[1]x", "[\"open]", "[1}]"] {
            assert_eq!(items(text), None, "{text:?}");
        }
    }

    #[test]
    fn escaped_backslash_before_a_closing_quote_ends_the_string() {
        assert_eq!(items(r#"["a\\",1]"#), Some(vec![r#""a\\""#, "1"]));
        assert_eq!(items(r#"["\\\"]",2]"#), Some(vec![r#""\\\"]""#, "2"]));
        assert_eq!(items(r#"["\\"#), None, "an unterminated string is not an array");
    }

    #[test]
    fn every_range_of_a_long_array_is_its_numbers() {
        let n = 2_000;
        let text = format!("[{}]", (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
        let ranges = split_array(text.as_bytes()).unwrap();
        assert_eq!(ranges.len(), n);
        for (i, &(s, e)) in ranges.iter().enumerate() {
            assert_eq!(&text[s as usize..e as usize], i.to_string());
        }
        for (a, b) in [(0, n), (0, 1), (n - 1, n), (17, 1_234)] {
            let expected = format!("[{}]", (a..b).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
            assert_eq!(format!("[{}]", &text[ranges[a].0 as usize..ranges[b - 1].1 as usize]), expected);
        }
    }

    #[test]
    fn ranges_rejoin_to_the_original_text() {
        let text = r#"[0,"a",[1,2],{"k":"v"},4]"#;
        let ranges = split_array(text.as_bytes()).unwrap();
        for a in 0..ranges.len() {
            for b in a + 1..=ranges.len() {
                let joined = format!("[{}]", &text[ranges[a].0 as usize..ranges[b - 1].1 as usize]);
                let expected: Vec<&str> = ranges[a..b].iter().map(|&(s, e)| &text[s as usize..e as usize]).collect();
                assert_eq!(items(&joined).unwrap(), expected);
            }
        }
    }
}
