//! Builds the located node tree from the parser's events: anchors and
//! aliases expanded under the node budget, nesting capped, one document.

use super::*;

pub(super) enum Frame {
    Seq {
        start: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

#[derive(Default)]
pub(super) struct TreeBuilder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
    documents: usize,
}

impl TreeBuilder {
    pub(super) fn run(mut self, src: &str) -> Result<Option<Node>, YamlError> {
        for event in Parser::new_from_str(src) {
            let (event, span) = event.map_err(|e| scan_error(src, &e))?;
            let start = pos(&span.start);
            let end = pos(&span.end);
            let is_seq_start = matches!(event, Event::SequenceStart(..));
            match event {
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(YamlError::new(
                            start,
                            "this file holds several YAML documents; a stack file holds one",
                        )
                        .hint(
                            "remove the `---` (or `...`) marker, or put each stack in its own file",
                        ));
                    }
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let mut plain = style == ScalarStyle::Plain;
                    if let Some(tag) = tag {
                        if tag.is_yaml_core_schema() && tag.suffix == "str" {
                            plain = false;
                        } else {
                            return Err(unsupported_tag(start, &tag.handle, &tag.suffix));
                        }
                    }
                    let node = Node {
                        start,
                        end,
                        kind: NodeKind::Scalar {
                            text: text.into_owned(),
                            plain,
                        },
                    };
                    self.push(node, anchor, 1)?;
                }
                Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                    let is_seq = is_seq_start;
                    if let Some(tag) = tag {
                        return Err(unsupported_tag(start, &tag.handle, &tag.suffix));
                    }
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(YamlError::new(
                            start,
                            format!("the YAML nests deeper than {MAX_DEPTH} levels"),
                        )
                        .hint("a stack file needs only a few levels: check the indentation and the brackets"));
                    }
                    self.stack.push(if is_seq {
                        Frame::Seq {
                            start,
                            anchor,
                            items: Vec::new(),
                        }
                    } else {
                        Frame::Map {
                            start,
                            anchor,
                            entries: Vec::new(),
                            key: None,
                        }
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let frame = self.stack.pop().expect("parser balances collections");
                    let (node, anchor) = match frame {
                        Frame::Seq {
                            start,
                            anchor,
                            items,
                        } => (
                            Node {
                                start,
                                end,
                                kind: NodeKind::Seq(items),
                            },
                            anchor,
                        ),
                        Frame::Map {
                            start,
                            anchor,
                            entries,
                            ..
                        } => (
                            Node {
                                start,
                                end,
                                kind: NodeKind::Map(entries),
                            },
                            anchor,
                        ),
                    };
                    self.push(node, anchor, 1)?;
                }
                Event::Alias(id) => {
                    let Some(target) = self.anchors.get(&id) else {
                        return Err(YamlError::new(
                            start,
                            "this alias refers to an anchor that is not defined before it",
                        )
                        .hint("an anchor (`&name`) must come before its alias (`*name`), and an alias cannot repeat the node it is inside"));
                    };
                    let mut node = target.clone();
                    let n = node.count();
                    relocate(&mut node, start, end);
                    self.push(node, 0, n)?;
                }
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
            }
        }
        Ok(self.root)
    }

    fn push(&mut self, node: Node, anchor: usize, count: usize) -> Result<(), YamlError> {
        self.nodes += count;
        if self.nodes > MAX_NODES {
            return Err(YamlError::new(
                node.start,
                format!("the YAML expands to more than {MAX_NODES} nodes"),
            )
            .hint("is an alias (`*name`) repeated many times? stack files need few aliases"));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

/// An alias stands where it is written: messages about its content point at
/// the alias, not at the anchor far away.
pub(super) fn relocate(node: &mut Node, start: Pos, end: Pos) {
    node.start = start;
    node.end = end;
    match &mut node.kind {
        NodeKind::Scalar { .. } => {}
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| relocate(n, start, end)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            relocate(k, start, end);
            relocate(v, start, end);
        }),
    }
}

pub(super) fn unsupported_tag(at: Pos, handle: &str, suffix: &str) -> YamlError {
    let handle = match handle {
        "tag:yaml.org,2002:" => "!!",
        h => h,
    };
    YamlError::new(
        at,
        format!("the YAML tag `{handle}{suffix}` is not supported"),
    )
    .hint("remove the tag; quote the value to make it a string")
}
