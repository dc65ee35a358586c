//! Shell variables (`set`, `unset`, `$name`): booleans, numbers, strings and lists, and the
//! substitution of `$name`, `$&vector`, `$?name`, `$#name` and `$name[range]` into words.

use super::cfmt;
use std::collections::HashMap;

/// A variable's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    /// Set without a value (`set noprintscale`).
    Bool,
    Real(f64),
    Str(String),
    List(Vec<Var>),
}

impl Var {
    /// The words `$name` turns into.
    pub fn words(&self) -> Vec<String> {
        match self {
            Var::Bool => vec!["TRUE".into()],
            Var::Real(x) => vec![cfmt::g_upper(*x)],
            Var::Str(s) => vec![super::source::unquote(s)],
            Var::List(l) => l.iter().flat_map(Var::words).collect(),
        }
    }
    /// The value as a number, if it is one (`set width = 100`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Var::Real(x) => Some(*x),
            Var::Str(s) => numparse(s).map(|(v, _)| v),
            _ => None,
        }
    }
}

/// ngspice's front-end number grammar: an optional sign, digits with an optional point, then
/// an exponent or one scale factor (t g meg k m mil u n p f), then any letters (units), which
/// are skipped. Returns the value and the bytes consumed; `None` if `s` starts otherwise.
pub fn numparse(s: &str) -> Option<(f64, usize)> {
    let (v, rest) = crate::netlist::number::parse_prefix(s)?;
    let used = s.len() - rest.len();
    let has_exp = s[..used].contains(['e', 'E']);
    let lower = rest.to_ascii_lowercase();
    let (scale, skip) = if has_exp {
        (1.0, 0)
    } else if lower.starts_with("meg") {
        (1e6, 3)
    } else if lower.starts_with("mil") {
        (25.4e-6, 3)
    } else {
        match lower.bytes().next() {
            Some(b't') => (1e12, 1),
            Some(b'g') => (1e9, 1),
            Some(b'k') => (1e3, 1),
            Some(b'm') => (1e-3, 1),
            Some(b'u') => (1e-6, 1),
            Some(b'n') => (1e-9, 1),
            Some(b'p') => (1e-12, 1),
            Some(b'f') => (1e-15, 1),
            _ => (1.0, 0),
        }
    };
    let tail = rest[skip..]
        .bytes()
        .take_while(|b| b.is_ascii_alphabetic() || *b == b'_')
        .count();
    Some((v * scale, used + skip + tail))
}

/// The variables.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    map: HashMap<String, Var>,
}

impl Vars {
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.map.get(name)
    }
    pub fn set(&mut self, name: &str, v: Var) {
        self.map.insert(name.to_string(), v);
    }
    pub fn unset(&mut self, name: &str) {
        self.map.remove(name);
    }
    pub fn is_set(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
    /// A numeric variable (`width`, `height`, `numdgt`).
    pub fn num(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Var::as_f64)
    }
    /// A string variable (`filetype`, `units`).
    pub fn string(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Var::Str(s) => Some(super::source::unquote(s)),
            Var::Real(x) => Some(cfmt::f6(*x)),
            _ => None,
        }
    }
    /// Every variable, sorted by name (`set` without arguments).
    pub fn sorted(&self) -> Vec<(&String, &Var)> {
        let mut v: Vec<(&String, &Var)> = self.map.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }
}

/// A value: a number if the word starts with one (`1k`, even `2x3`), else a string.
fn value_of(w: &str) -> Var {
    let u = super::source::unquote(w);
    match numparse(&u) {
        Some((v, _)) => Var::Real(v),
        None => Var::Str(u),
    }
}

/// Parses the words of `set` into assignments (ngspice's `cp_setparse`): `name`,
/// `name = value`, `name=value`, `name =value`, `name= value`, `name = ( a b c )`.
pub fn parse_set(words: &[String]) -> super::CResult<Vec<(String, Var)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let mut name = super::source::unquote(&words[i]);
        i += 1;
        let next_eq = words.get(i).is_some_and(|w| w.starts_with('='));
        if !next_eq && !name.contains('=') {
            out.push((name, Var::Bool));
            continue;
        }
        let val: String = if words.get(i).is_some_and(|w| w == "=") {
            i += 1;
            let Some(v) = words.get(i) else {
                return Err(cerr!("set {name} = needs a value"));
            };
            i += 1;
            v.clone()
        } else if next_eq {
            i += 1;
            words[i - 1][1..].to_string()
        } else {
            let (n, v) = name.split_once('=').unwrap_or((&name, ""));
            let (n, v) = (n.to_string(), v.to_string());
            name = n;
            if v.is_empty() {
                let Some(w) = words.get(i) else {
                    return Err(cerr!("set {name}= needs a value"));
                };
                i += 1;
                w.clone()
            } else {
                v
            }
        };
        if name.is_empty() {
            return Err("set: a variable needs a name before '='".into());
        }
        if super::source::unquote(&val) == "(" {
            let mut items = Vec::new();
            let mut depth = 1;
            loop {
                let Some(w) = words.get(i) else {
                    return Err(cerr!("set {name} = ( ...: missing ')'"));
                };
                i += 1;
                if w == "(" {
                    depth += 1;
                } else if w == ")" {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                items.push(value_of(w));
            }
            out.push((name, Var::List(items)));
            continue;
        }
        out.push((name, value_of(&val)));
    }
    Ok(out)
}

/// What substitution needs from the interpreter besides the variables.
pub trait Lookup {
    /// `$&name`: the values of a vector, as real numbers; `None` if there is no such vector.
    fn vector_values(&self, name: &str) -> Option<Vec<f64>>;
    /// Variables provided by the plots: `curplot`, `curplotname`, `curplottitle`,
    /// `curplotdate`, `plots`.
    fn plot_var(&self, name: &str) -> Option<Var>;
}

/// ngspice's characters of a variable name after `$`: letters, digits and `$-_<#?@.()[]&`,
/// stopping after a closing bracket or parenthesis that balances an opening one.
fn span_var(s: &[u8], start: usize) -> usize {
    let mut t = start;
    let (mut paren, mut brack) = (0i32, 0i32);
    while t < s.len() {
        let c = s[t];
        if !(c.is_ascii_alphanumeric() || b"$-_<#?@.()[]&".contains(&c)) {
            break;
        }
        t += 1;
        match c {
            b'[' => brack += 1,
            b'(' => paren += 1,
            b']' => {
                if brack <= 0 {
                    return t - 1;
                }
                brack -= 1;
                if brack <= 0 {
                    return t;
                }
            }
            b')' => {
                if paren <= 0 {
                    return t - 1;
                }
                paren -= 1;
                if paren <= 0 {
                    return t;
                }
            }
            _ => {}
        }
    }
    t
}

/// The words one `$` reference stands for (`spec` is what follows the `$`).
fn eval_ref(spec: &str, vars: &Vars, lk: &dyn Lookup) -> super::CResult<Vec<String>> {
    let (name, range) = match spec.split_once('[') {
        Some((n, r)) => (n, Some(r.trim_end_matches(']'))),
        None => (spec, None),
    };
    if let Some(n) = spec.strip_prefix('?') {
        let known = vars.is_set(n) || lk.plot_var(n).is_some();
        return Ok(vec![if known { "1" } else { "0" }.into()]);
    }
    if let Some(n) = spec.strip_prefix('#') {
        let v = vars
            .get(n)
            .cloned()
            .or_else(|| lk.plot_var(n))
            .ok_or_else(|| format!("${spec}: no such variable"))?;
        let count = match v {
            Var::List(l) => l.len(),
            Var::Bool => 0,
            _ => 1,
        };
        return Ok(vec![count.to_string()]);
    }
    if spec.is_empty() {
        return Ok(vec!["$".into()]);
    }
    if spec.starts_with('$') || spec.starts_with('<') {
        return Err(cerr!(
            "${spec}: the process id and reading from the terminal are not supported"
        ));
    }
    let value: Var = if let Some(vec) = spec.strip_prefix('&') {
        let vals = lk
            .vector_values(vec)
            .ok_or_else(|| format!("$&{vec}: no such vector"))?;
        return Ok(vals.iter().map(|&x| cfmt::g_upper(x)).collect());
    } else if let Some(v) = vars.get(name) {
        v.clone()
    } else if let Some(v) = lk.plot_var(name) {
        v
    } else if let Ok(e) = std::env::var(spec) {
        return Ok(vec![e]);
    } else {
        return Err(cerr!("${name}: no such variable"));
    };
    let words = value.words();
    let Some(range) = range else {
        return Ok(words);
    };
    // $name[low-up], 1-based (`$list[2]`, `$list[2-3]`, `$list[2-]`)
    let range = if let Some(r) = range.strip_prefix('$') {
        let w = eval_ref(r, vars, lk)?;
        match w.as_slice() {
            [one] => one.clone(),
            _ => return Err(cerr!("${spec}: the index is not one word")),
        }
    } else {
        range.to_string()
    };
    let digits = |s: &str| -> (usize, usize) {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (s[..n].parse().unwrap_or(0), n)
    };
    let (low, n) = digits(&range);
    let rest = &range[n..];
    let up = if let Some(r) = rest.strip_prefix('-') {
        let (u, m) = digits(r);
        if m > 0 { u } else { words.len() }
    } else {
        low
    };
    // ngspice 39 reads index 0 as the first element (`$list[0]` is `$list[1]`)
    let (low, up) = (low.max(1), up.max(1));
    if up < low {
        return Ok(vec![]);
    }
    Ok(words.into_iter().skip(low - 1).take(up + 1 - low).collect())
}

/// Substitutes every `$` reference in the words, as ngspice's `cp_variablesubst`: a list
/// value becomes several words, the first joined to the text before the `$`, the last to
/// the text after it.
pub fn substitute(words: &[String], vars: &Vars, lk: &dyn Lookup) -> super::CResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for w in words {
        let mut cur = w.clone();
        let mut from = 0usize;
        loop {
            let Some(off) = cur[from..].find('$') else {
                out.push(cur);
                break;
            };
            let d = from + off;
            let end = span_var(cur.as_bytes(), d + 1);
            let spec = cur[d + 1..end].to_string();
            let mut sub = eval_ref(&spec, vars, lk)?;
            let (pre, tail) = (cur[..d].to_string(), cur[end..].to_string());
            if sub.is_empty() {
                if pre.is_empty() && tail.is_empty() {
                    break; // the word disappears
                }
                cur = format!("{pre}{tail}");
                from = pre.len();
                continue;
            }
            let n = sub.len();
            sub[0] = format!("{pre}{}", sub[0]);
            let last_len = sub[n - 1].len();
            sub[n - 1].push_str(&tail);
            // every word but the last is done; scanning goes on after the inserted value
            for s in sub.drain(..n - 1) {
                out.push(s);
            }
            cur = sub.pop().unwrap_or_default();
            from = last_len;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoPlots;
    impl Lookup for NoPlots {
        fn vector_values(&self, name: &str) -> Option<Vec<f64>> {
            (name == "v").then(|| vec![1e-9, 2.0])
        }
        fn plot_var(&self, name: &str) -> Option<Var> {
            (name == "curplot").then(|| Var::Str("tran1".into()))
        }
    }

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn set_forms() {
        let r = parse_set(&w("a b = 2 c=x d= ( 1 two ) e =3k f")).unwrap();
        assert_eq!(r[0], ("a".into(), Var::Bool));
        assert_eq!(r[1], ("b".into(), Var::Real(2.0)));
        assert_eq!(r[2], ("c".into(), Var::Str("x".into())));
        assert_eq!(
            r[3],
            (
                "d".into(),
                Var::List(vec![Var::Real(1.0), Var::Str("two".into())])
            )
        );
        assert_eq!(r[4], ("e".into(), Var::Real(3000.0)));
        assert_eq!(r[5], ("f".into(), Var::Bool));
        assert!(parse_set(&w("a =")).is_err());
    }

    #[test]
    fn substitution() {
        let mut v = Vars::default();
        v.set(
            "lst",
            Var::List(vec![Var::Real(1.0), Var::Real(2.0), Var::Real(3.0)]),
        );
        v.set("s", Var::Str("abc".into()));
        let s = |t: &str| substitute(&w(t), &v, &NoPlots).unwrap().join("|");
        assert_eq!(s("x$lst[2]y"), "x2y");
        assert_eq!(s("<$lst>"), "<1|2|3>");
        assert_eq!(s("$lst[2-]"), "2|3");
        assert_eq!(s("$#lst $?lst $?nope"), "3|1|0");
        assert_eq!(s("$&v"), "1E-09|2");
        // `.` belongs to the name, as in ngspice
        assert!(substitute(&w("$s.x"), &v, &NoPlots).is_err());
        assert_eq!(s("{$s}z $curplot"), "{abc}z|tran1");
        // `$`, `-` and `(` are name characters too
        assert!(substitute(&w("$s$s"), &v, &NoPlots).is_err());
        assert_eq!(s("{$s}{$s}"), "{abc}{abc}");
        assert!(substitute(&w("$nope"), &v, &NoPlots).is_err());
    }

    #[test]
    fn front_end_numbers() {
        assert_eq!(numparse("1k"), Some((1e3, 2)));
        assert_eq!(numparse("3mil").map(|x| x.0), Some(3.0 * 25.4e-6));
        assert_eq!(numparse("1e-3m").map(|x| x.0), Some(1e-3));
        assert_eq!(numparse("2x3"), Some((2.0, 2)));
        assert_eq!(numparse("2a").map(|x| x.0), Some(2.0));
        assert_eq!(numparse(".abc"), None);
        assert_eq!(numparse("1:1").map(|x| x.1), Some(1));
    }
}
