//! A borrowed JSON tree for the nested parts of a record.
//!
//! Only the parts of a record a rule actually reads are turned into a tree, and then only once
//! (see [`crate::Record`]). Strings borrow from the record's bytes unless they contain escapes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use rsigma_eval::EventValue;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// One JSON value, borrowing its strings where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// Key equality for the lookups rules make on every record. Audit-log keys are short and share
/// prefixes and lengths (`eventName`, `eventTime`, `eventType`); comparing two overlapping
/// 8-byte words settles keys of up to 16 bytes without a call to `memcmp`.
#[inline]
pub(crate) fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a == b;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    if word(a, 0) != word(b, 0) || word(a, n - 8) != word(b, n - 8) {
        return false;
    }
    n <= 16 || a[8..n - 8] == b[8..n - 8]
}

/// A string that borrows from the input when it has no escapes.
pub(crate) struct BorrowedStr<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for BorrowedStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BorrowedStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// How deep a value may sit below a record's top-level member and still become a tree.
///
/// serde_json stops at 128 levels (its guard against stack overflow) and fails the whole parse,
/// which used to make a member vanish when one deep value sat inside it: a sibling nested 127
/// levels down hid `requestParameters.name` from every rule. Stopping earlier, on our own terms,
/// keeps the siblings: a container deeper than this is kept as its JSON text (see
/// [`Node::parse`]), and [`crate::Record`] warns about it. No provider nests anywhere near this.
pub const MAX_DEPTH: usize = 100;

/// Deserializes one value that sits `depth` levels below the member being parsed.
struct AtDepth(usize);

impl<'de> DeserializeSeed<'de> for AtDepth {
    type Value = Node<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        d.deserialize_any(NodeVisitor(self.0))
    }
}

/// A child one level further down: a tree while within [`MAX_DEPTH`], its JSON text beyond.
/// serde_json skips a raw value without recursion, so even a 100 000-level value costs no stack.
struct Child(usize);

impl<'de> DeserializeSeed<'de> for Child {
    type Value = Node<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        if self.0 <= MAX_DEPTH {
            return AtDepth(self.0).deserialize(d);
        }
        let raw = <&'de RawValue>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with(['{', '[']) {
            Ok(Node::Str(Cow::Borrowed(text)))
        } else {
            // A scalar has no depth of its own: keep it as what it is.
            serde_json::from_str(text).map_err(de::Error::custom)
        }
    }
}

struct NodeVisitor(usize);

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(Node::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Child(self.0 + 1))? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        let mut index = None;
        while let Some(k) = map.next_key::<BorrowedStr<'de>>()? {
            let v = map.next_value_seed(Child(self.0 + 1))?;
            last_wins(&mut entries, &mut index, member_key, (k.0, v));
        }
        Ok(Node::Object(entries))
    }
}

fn member_key<'e>(entry: &'e (Cow<'_, str>, Node<'_>)) -> &'e str {
    &entry.0
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AtDepth(0).deserialize(d)
    }
}

/// Objects with more members than this find a repeated key through a hash index instead of a
/// scan, so a hostile object of a million keys costs linear time.
const SCAN_KEYS: usize = 32;

/// Adds `entry` to an object's members, or replaces the earlier member of the same key: when a
/// key repeats, the last value wins, as in jq, Python, serde_json's `Value` and AWS's own
/// parsers. Every reader of a record (rules, summary, correlation) goes through the members
/// built here, so all of them see the same value. Returns whether a member was replaced.
pub(crate) fn last_wins<T>(
    entries: &mut Vec<T>,
    index: &mut Option<HashMap<String, usize>>,
    key_of: impl Fn(&T) -> &str,
    entry: T,
) -> bool {
    let key = key_of(&entry);
    let found = match index {
        Some(map) => map.get(key).copied(),
        None => entries.iter().position(|e| key_eq(key_of(e), key)),
    };
    if let Some(i) = found {
        entries[i] = entry;
        return true;
    }
    if index.is_none() && entries.len() >= SCAN_KEYS {
        let map = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (key_of(e).to_owned(), i))
            .collect();
        *index = Some(map);
    }
    if let Some(map) = index {
        map.insert(key.to_owned(), entries.len());
    }
    entries.push(entry);
    false
}

impl<'a> Node<'a> {
    /// Parses JSON text that is known to be one complete value. A repeated key keeps its last
    /// value; a container more than [`MAX_DEPTH`] levels down is kept as a string holding its
    /// JSON text, so keyword searches still see what it says.
    pub fn parse(text: &'a str) -> Result<Node<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The member named `key` of an object; `ignore_case` serves Azure, whose Sigma rules use
    /// Log Analytics column names (`ResultType`) for fields exported as `resultType`.
    pub fn member(&self, key: &str, ignore_case: bool) -> Option<&Node<'a>> {
        let Node::Object(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| key_eq(k, key))
            .or_else(|| {
                ignore_case
                    .then(|| entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
                    .flatten()
            })
            .map(|(_, v)| v)
    }

    /// Follows a dotted path (empty: this node); an array on the way is searched element by
    /// element, and every value found is collected, so `items.cidrIp` reaches each rule's CIDR.
    pub fn collect<'s>(&'s self, path: &str, ignore_case: bool, out: &mut Vec<&'s Node<'a>>) {
        if path.is_empty() {
            match self {
                Node::Array(items) => out.extend(items.iter()),
                other => out.push(other),
            }
            return;
        }
        match self {
            Node::Array(items) => {
                for item in items {
                    item.collect(path, ignore_case, out);
                }
            }
            Node::Object(_) => {
                // A member whose own name holds dots wins over nesting, as in rsigma's JsonEvent.
                if let Some(child) = self.member(path, ignore_case) {
                    out.push(child);
                    return;
                }
                let (first, rest) = path.split_once('.').unwrap_or((path, ""));
                if let Some(child) = self.member(first, ignore_case) {
                    child.collect(rest, ignore_case, out);
                }
            }
            _ => {}
        }
    }

    /// The matcher value at a dotted path: the value itself when the path crosses no array,
    /// otherwise every value found (any-element semantics), without allocating in the common
    /// case.
    pub fn value_at(&self, path: &str, ignore_case: bool) -> Option<EventValue<'_>> {
        let mut node = self;
        let mut rest = path;
        loop {
            match node {
                Node::Object(_) if !rest.is_empty() => {
                    if let Some(child) = node.member(rest, ignore_case) {
                        return Some(child.to_event_value());
                    }
                    let (first, tail) = rest.split_once('.').unwrap_or((rest, ""));
                    node = node.member(first, ignore_case)?;
                    rest = tail;
                }
                Node::Array(_) if !rest.is_empty() => {
                    let mut found = Vec::new();
                    node.collect(rest, ignore_case, &mut found);
                    return match found.len() {
                        0 => None,
                        1 => Some(found[0].to_event_value()),
                        _ => Some(EventValue::Array(
                            found.iter().map(|n| n.to_event_value()).collect(),
                        )),
                    };
                }
                _ if rest.is_empty() => return Some(node.to_event_value()),
                _ => return None,
            }
        }
    }

    /// The first non-empty scalar at a dotted path, as text; cheaper than [`Node::collect`]
    /// for display, where one value is enough.
    pub fn first_text(&self, path: &str) -> Option<String> {
        match self {
            Node::Array(items) => items.iter().find_map(|i| i.first_text(path)),
            _ if path.is_empty() => self
                .as_text()
                .filter(|t| !t.is_empty())
                .map(Cow::into_owned),
            Node::Object(_) => {
                let (first, rest) = path.split_once('.').unwrap_or((path, ""));
                self.member(first, false)?.first_text(rest)
            }
            _ => None,
        }
    }

    /// The value for rsigma's matchers, borrowing strings from the tree.
    pub fn to_event_value(&self) -> EventValue<'_> {
        match self {
            Node::Null => EventValue::Null,
            Node::Bool(b) => EventValue::Bool(*b),
            Node::Int(i) => EventValue::Int(*i),
            Node::Float(f) => EventValue::Float(*f),
            Node::Str(s) => EventValue::Str(Cow::Borrowed(s.as_ref())),
            Node::Array(items) => {
                EventValue::Array(items.iter().map(Node::to_event_value).collect())
            }
            Node::Object(entries) => EventValue::Map(
                entries
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_ref()), v.to_event_value()))
                    .collect(),
            ),
        }
    }

    /// The text of a scalar, as an analyst would read it.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Node::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            Node::Int(i) => Some(Cow::Owned(i.to_string())),
            Node::Float(f) => Some(Cow::Owned(f.to_string())),
            Node::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            _ => None,
        }
    }

    /// Calls `visit` with every string in the tree (keyword rules search all of them).
    pub fn visit_strings(&self, visit: &mut dyn FnMut(&str)) {
        match self {
            Node::Str(s) => visit(s),
            Node::Array(items) => items.iter().for_each(|i| i.visit_strings(visit)),
            Node::Object(entries) => entries.iter().for_each(|(_, v)| v.visit_strings(visit)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_borrow_unless_escaped() {
        let n = Node::parse(r#"{"a":"plain","b":"esc\"aped"}"#).unwrap();
        match n.member("a", false) {
            Some(Node::Str(Cow::Borrowed("plain"))) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(n.member("b", false), Some(&Node::Str("esc\"aped".into())));
    }

    #[test]
    fn paths_fan_out_through_arrays() {
        let n = Node::parse(r#"{"items":[{"ip":"1.1.1.1"},{"ip":"0.0.0.0/0"},{"x":1}]}"#).unwrap();
        let mut out = Vec::new();
        n.collect("items.ip", false, &mut out);
        let texts: Vec<_> = out.iter().filter_map(|n| n.as_text()).collect();
        assert_eq!(texts, vec!["1.1.1.1", "0.0.0.0/0"]);
    }

    #[test]
    fn key_equality_agrees_with_string_equality() {
        let keys = [
            "",
            "a",
            "arn",
            "eventName",
            "eventTime",
            "eventType",
            "eventSource",
            "eventVersion",
            "eventCategory",
            "sourceIPAddress",
            "recipientAccountId",
            "recipientAccountIe",
            "requestParameters",
            "requestParametert",
            "userIdentity",
            "userIdentitx",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(key_eq(a, b), a == b, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn case_is_ignored_only_when_asked() {
        let n = Node::parse(r#"{"resultType":"50126"}"#).unwrap();
        assert!(n.member("ResultType", false).is_none());
        assert!(n.member("ResultType", true).is_some());
    }
}
