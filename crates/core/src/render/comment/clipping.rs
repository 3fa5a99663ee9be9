//! Cutting a comment to GitHub's limit without breaking its Markdown.

/// A whole comment cut to `max` bytes at a line end, with a code block and
/// `<details>` left open by the cut closed again, so what follows the cut
/// (the pointer to the job summary) is not swallowed.
pub(crate) fn clip_markdown(md: &str, max: usize) -> String {
    // Room for the closing fence, `</details>` lines and the pointer.
    const TAIL: usize = 400;
    if md.len() <= max {
        return md.to_string();
    }
    let mut end = max.saturating_sub(TAIL);
    while !md.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &md[..md[..end].rfind('\n').map_or(0, |i| i + 1)];
    let mut fence: Option<String> = None;
    let mut details = 0usize;
    for line in cut.lines() {
        let rest = line.trim_start_matches(' ');
        let run = |c: char| rest.chars().take_while(|x| *x == c).count();
        match &fence {
            Some(f) => {
                let c = f.chars().next().unwrap_or('`');
                if run(c) >= f.len() && rest[run(c)..].trim().is_empty() {
                    fence = None;
                }
            }
            None => {
                for c in ['`', '~'] {
                    if run(c) >= 3 && !(c == '`' && rest[run(c)..].contains('`')) {
                        fence = Some(c.to_string().repeat(run(c)));
                    }
                }
                details += line.matches("<details>").count();
                details = details.saturating_sub(line.matches("</details>").count());
            }
        }
    }
    let mut out = cut.to_string();
    if let Some(f) = fence {
        out.push_str(&f);
        out.push('\n');
    }
    for _ in 0..details {
        out.push_str("\n</details>\n");
    }
    out.push_str("\n… (cut: the full text is in the job summary)\n");
    out
}

pub(super) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… (cut: the full text is in the job summary)",
        &s[..end]
    )
}
