//! Finding vectors by name in the control language's plots, as ngspice's `vec_get` and
//! `findvec` do: shared by the interpreter and `meas` (which reads one-value vectors).

use super::expr::Val;
use super::vector::{Plots, VType, Vector};

/// ngspice's `findvec`: a name in one plot, with the wildcards `all`, `allv`, `alli`, `ally`.
fn findvec(plots: &Plots, id: u64, word: &str) -> Option<Vec<Val>> {
    let p = plots.by_id(id)?;
    let wrap = |v: &Vector| Val {
        vec: v.clone(),
        plot: id,
    };
    let w = word.to_ascii_lowercase();
    let pick = |f: &dyn Fn(&Vector) -> bool| -> Option<Vec<Val>> {
        let v: Vec<Val> = p.vecs.iter().filter(|v| f(v)).map(wrap).collect();
        (!v.is_empty()).then_some(v)
    };
    match w.as_str() {
        "all" => return pick(&|_| true),
        "allv" => return pick(&|v| v.vtype == VType::Voltage),
        "alli" => return pick(&|v| v.vtype == VType::Current),
        "ally" => {
            let s = p.scale.clone().unwrap_or_default();
            return pick(&|v| !v.name.eq_ignore_ascii_case(&s));
        }
        _ => {}
    }
    p.get(word)
        .or_else(|| p.get(&format!("v({word})")))
        .map(|v| vec![wrap(v)])
}

/// ngspice's `vec_fromplot`: also `x(name)` as `name`, and `i(name)` as `name#branch`.
pub fn vec_fromplot(plots: &Plots, id: u64, word: &str) -> Option<Vec<Val>> {
    if let Some(v) = findvec(plots, id, word) {
        return Some(v);
    }
    let b = word.as_bytes();
    if b.len() > 3 && b[1] == b'(' && word.ends_with(')') {
        let inner = &word[2..word.len() - 1];
        if b[0] == b'i' || b[0] == b'I' {
            return findvec(plots, id, &format!("{inner}#branch"));
        }
        return findvec(plots, id, inner);
    }
    None
}

/// Whether a word of a `.print` card names a vector of the plot `id` (`v(1)`, `i(vs)`,
/// `out`); anything else (an expression, `v(a,b)`, `vdb(out)`) is left to `print` to judge. ngspice drops
/// a `.print` vector it cannot find with a warning and prints the rest.
pub fn print_word_found(plots: &Plots, id: u64, word: &str) -> bool {
    let simple = match word.split_once('(') {
        Some((f, rest)) => {
            matches!(f, "v" | "V" | "i" | "I")
                && rest.ends_with(')')
                && !rest[..rest.len() - 1].contains([',', '(', ')'])
        }
        None => !word.contains(['+', '-', '*', '/', '^', '[', ',', '\'', '"']),
    };
    !simple || vec_fromplot(plots, id, word).is_some()
}

/// ngspice's `vec_get`: `name` in the current plot (then `const`), `plot.name` in that plot,
/// `all.name` in every plot; wildcards sorted by plot and name.
pub fn vec_get(plots: &Plots, name: &str) -> Option<Vec<Val>> {
    let cur = plots.cur().id;
    let (pl, word): (Option<u64>, &str) = match name.split_once('.') {
        Some((pre, rest)) if pre.eq_ignore_ascii_case("all") => (None, rest),
        Some((pre, rest)) => match plots.find(&pre.to_ascii_lowercase()) {
            Some(id) => (Some(id), rest),
            None => (Some(cur), name),
        },
        None => (Some(cur), name),
    };
    let mut found = match pl {
        Some(id) => vec_fromplot(plots, id, word).or_else(|| vec_fromplot(plots, 0, word))?,
        None => {
            let mut all = Vec::new();
            for p in plots.list.iter().rev().filter(|p| p.id != 0) {
                if let Some(v) = vec_fromplot(plots, p.id, word) {
                    all.extend(v);
                }
            }
            if all.is_empty() {
                return None;
            }
            all
        }
    };
    if found.len() > 1 {
        found.sort_by(|a, b| {
            let ta = plots.by_id(a.plot).map_or("", |p| p.typename.as_str());
            let tb = plots.by_id(b.plot).map_or("", |p| p.typename.as_str());
            super::vector::name_cmp(ta, tb).then(super::vector::name_cmp(&a.vec.name, &b.vec.name))
        });
    }
    Some(found)
}
