//! Name helpers shared by the stages: closest-name suggestions and TensorFlow
//! tensor-name parsing (`node`, `node:1`, `^node`).

/// Up to three candidates closest to `wanted`, best first, among those close
/// enough to be a plausible typo or a partial name. The one rule for every
/// "did you mean" of the core, the CLI and the plugin (node and tensor names,
/// flags, options, directives).
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let wanted_lower = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|name| {
            let lower = name.to_lowercase();
            let mut distance = strsim::levenshtein(&wanted_lower, &lower);
            // A name typed in part ("y_pred" for "model/y_pred", "node_names"
            // for "output_node_names") is a better hint than its raw distance says.
            if !wanted_lower.is_empty()
                && (lower.contains(&wanted_lower) || (lower.len() >= 3 && wanted_lower.contains(&lower)))
            {
                distance = distance.min(1);
            }
            (distance, name)
        })
        .collect();
    let limit = (wanted.chars().count() / 2).max(2);
    scored.retain(|(d, _)| *d <= limit);
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, n)| n.to_string()).collect()
}

/// The node an input string refers to: `"^a"`, `"a:1"` and `"a"` all name `a`.
pub fn node_of(input: &str) -> &str {
    let name = input.strip_prefix('^').unwrap_or(input);
    match name.rfind(':') {
        Some(colon) if name[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => &name[..colon],
        _ => name,
    }
}

/// Output index of a data input string (`"a:2"` → 2, `"a"` → 0).
pub fn output_index(input: &str) -> usize {
    input.rfind(':').and_then(|colon| input[colon + 1..].parse().ok()).unwrap_or(0)
}

pub fn is_control_input(input: &str) -> bool {
    input.starts_with('^')
}

/// The library function the SavedModel reader inlined `node` from, as it
/// records it in TensorFlow's own debug-info field.
pub fn inlined_from(node: &crate::proto::NodeDef) -> Option<&str> {
    node.experimental_debug_info.as_ref()?.original_func_names.first().map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_input_strings() {
        assert_eq!(node_of("^a/b"), "a/b");
        assert_eq!(node_of("a/b:3"), "a/b");
        assert_eq!(node_of("a/b"), "a/b");
        assert_eq!(output_index("a:3"), 3);
        assert_eq!(output_index("a"), 0);
    }

    #[test]
    fn suggests_close_names() {
        let names = ["model/y_pred", "inference/inference", "inputs/x"];
        assert_eq!(closest("model/y_prd", names), vec!["model/y_pred"]);
        assert_eq!(closest("y_pred", names), vec!["model/y_pred"]);
        assert!(closest("zzzzzzzzzz", names).is_empty());
    }
}
