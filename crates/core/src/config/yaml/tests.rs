//! The YAML front end: core schema, located nodes, aliases under a budget,
//! and the messages for what it refuses.

use super::*;

fn root(src: &str) -> Node {
    parse(src).unwrap().unwrap()
}

#[test]
fn core_schema_keeps_yaml_11_words_as_strings() {
    for s in ["no", "yes", "on", "off", "y", "n", "NO", "Off"] {
        assert_eq!(resolve(s), Value::Str(s), "{s}");
    }
    assert_eq!(resolve("true"), Value::Bool(true));
    assert_eq!(resolve("FALSE"), Value::Bool(false));
    assert_eq!(resolve("~"), Value::Null);
    assert_eq!(resolve(""), Value::Null);
    assert_eq!(resolve("0x1F"), Value::Int(31));
    assert_eq!(resolve("0o17"), Value::Int(15));
    assert_eq!(resolve("-42"), Value::Int(-42));
    assert_eq!(resolve("1.5"), Value::Float(1.5));
    assert_eq!(resolve("1e3"), Value::Float(1000.0));
    assert_eq!(resolve("0777"), Value::Int(777));
    assert_eq!(resolve("1_000"), Value::Str("1_000"));
    assert_eq!(resolve("8000-8080"), Value::Str("8000-8080"));
    assert_eq!(resolve("t3.micro"), Value::Str("t3.micro"));
}

#[test]
fn quoted_scalars_are_strings() {
    let n = root("a: \"1\"\nb: 'true'\nc: !!str 3\n");
    let NodeKind::Map(entries) = &n.kind else {
        panic!()
    };
    for (_, v) in entries {
        assert!(matches!(v.value(), Some(Value::Str(_))), "{v:?}");
    }
}

#[test]
fn keeps_duplicate_keys_and_positions() {
    let n = root("a: 1\nb:\n  c: x\na: 2\n");
    let NodeKind::Map(entries) = &n.kind else {
        panic!()
    };
    let keys: Vec<_> = entries
        .iter()
        .map(|(k, _)| (k.text().unwrap(), k.start))
        .collect();
    assert_eq!(
        keys,
        [
            (
                "a",
                Pos {
                    line: 1,
                    col: 1,
                    file: 0
                }
            ),
            (
                "b",
                Pos {
                    line: 2,
                    col: 1,
                    file: 0
                }
            ),
            (
                "a",
                Pos {
                    line: 4,
                    col: 1,
                    file: 0
                }
            )
        ]
    );
}

#[test]
fn aliases_are_expanded_at_the_alias() {
    let n = root("a: &x [1, 2]\nb: *x\n");
    let NodeKind::Map(entries) = &n.kind else {
        panic!()
    };
    assert_eq!(
        entries[1].1.start,
        Pos {
            line: 2,
            col: 4,
            file: 0
        }
    );
    assert!(matches!(&entries[1].1.kind, NodeKind::Seq(items) if items.len() == 2));
}

#[test]
fn alias_bomb_is_refused() {
    let mut src = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for name in 'b'..='j' {
        src.push_str(&format!(
            "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
        prev = name;
    }
    let err = parse(&src).unwrap_err();
    assert!(err.message.contains("more than 100000 nodes"), "{err:?}");
}

#[test]
fn deep_nesting_is_refused() {
    let src = "[".repeat(10_000);
    let err = parse(&src).unwrap_err();
    assert!(err.message.contains("nests deeper"), "{err:?}");
}

#[test]
fn tabs_are_reported_where_they_are() {
    let err = parse("a:\n  b: 1\n\tc: 2\n").unwrap_err();
    assert_eq!(
        err.message,
        "tabs are not allowed for indentation in YAML; use spaces"
    );
    assert_eq!(
        err.at,
        Pos {
            line: 3,
            col: 1,
            file: 0
        }
    );
}

#[test]
fn several_documents_are_refused() {
    let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
    assert!(err.message.contains("several YAML documents"));
    assert_eq!(err.at.line, 2);
}

#[test]
fn empty_file_has_no_document() {
    assert_eq!(parse("").unwrap(), None);
    assert_eq!(parse("# just a comment\n").unwrap(), None);
}

#[test]
fn control_characters_are_refused() {
    let err = parse("a: 1\nb: \u{1}\u{2}\u{3}\n").unwrap_err();
    assert_eq!(
        err.at,
        Pos {
            line: 2,
            col: 4,
            file: 0
        }
    );
    assert!(err.message.contains("U+0001"));
}

#[test]
fn huge_file_is_refused_unparsed() {
    let src = "#".repeat(MAX_FILE_BYTES + 1);
    let err = parse(&src).unwrap_err();
    assert!(err.message.contains("limited to 5242880 bytes"));
}

#[test]
fn an_unclosed_bracket_is_named_where_it_opens() {
    let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
    assert_eq!(err.message, "this `[` is never closed");
    assert_eq!(
        err.at,
        Pos {
            line: 1,
            col: 4,
            file: 0
        }
    );
    // Brackets in block scalars, comments and quotes are not counted.
    let src = "a: |\n  if [ -f x\n# {\nc: 'x [y'\nb: {c: 1\n";
    assert_eq!(
        parse(src).unwrap_err().at,
        Pos {
            line: 5,
            col: 4,
            file: 0
        }
    );
}

#[test]
fn a_bracket_closed_later_is_not_blamed() {
    let err = parse("a: [\n  {x: 1: 2},\n]\n").unwrap_err();
    assert!(err.message.contains("inside a `{ … }` map"), "{err:?}");
    assert_eq!(err.at.line, 2);
}

#[test]
fn a_line_without_colon_is_pointed_at() {
    let err = parse("a:\n  b: 1\n  c 2\n").unwrap_err();
    assert_eq!(
        err.message,
        "this line is not `key: value`: the `:` is missing"
    );
    assert_eq!(
        err.at,
        Pos {
            line: 3,
            col: 3,
            file: 0
        }
    );
}

#[test]
fn long_strings_are_shortened_in_messages() {
    let n = root(&format!("\"{}\"", "x".repeat(500)));
    assert_eq!(
        n.describe(),
        format!("the string \"{}…\" (500 characters)", "x".repeat(40))
    );
}

#[test]
fn custom_tags_are_refused() {
    let err = parse("a: !secret x\n").unwrap_err();
    assert!(err.message.contains("`!secret`"), "{err:?}");
}
