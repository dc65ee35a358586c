//! ngspice's vector expressions: `v(out)*2`, `db(v(a)/v(b))`, `x[2,5]`, `a gt b ? 1 : 0`,
//! `tran1.v(out)`, user functions (`define`).
//!
//! Text is lexed as ngspice's expression lexer does (`gt`/`and`/... are operators, a word runs
//! until an operator character, `[` is part of a word only after `@`), parsed by precedence
//! into a tree (ngspice's grammar: `? :` < `|` < `&` < comparisons < `~` < `,` < `+ -` <
//! `* / %` < unary `-` < `^` < `[ ]`), and compiled to a postfix program that a loop over an
//! explicit stack evaluates: no recursion follows the length of an expression, and the
//! parser's recursion (parentheses, prefix and right-associative operators, user functions)
//! stops at [`MAX_DEPTH`] with an error.

use super::cx::C;
use super::funcs::{self, Func};
use super::vars::numparse;
use super::vector::{Data, VType, Vector};
use std::collections::HashMap;

/// Deepest nesting the parser follows (parentheses, prefix operators, `^` chains, user
/// functions calling user functions).
pub const MAX_DEPTH: usize = 200;
/// Longest compiled program (user functions are expanded in place, so nesting them can
/// multiply a short text).
pub const MAX_CODE: usize = 1_000_000;

type R<T> = super::CResult<T>;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Comma,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    And,
    Or,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Comma => ",",
            BinOp::Eq => "=",
            BinOp::Ne => "<>",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
            BinOp::And => "&",
            BinOp::Or => "|",
        }
    }
    fn relational(self) -> bool {
        matches!(
            self,
            BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Gt
                | BinOp::Le
                | BinOp::Ge
                | BinOp::And
                | BinOp::Or
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Bin(BinOp),
    Minus,
    Not,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Quest,
    Colon,
    End,
}

/// Characters that end a word (and after which `gt`, `and`, ... are operators).
const SPECIALS: &[u8] = b" \t%()-^+*,/|&<>~=";

fn ends_word(b: Option<&u8>) -> bool {
    b.is_none_or(|c| SPECIALS.contains(c))
}

/// Splits expression text into tokens with their byte spans.
fn lex(s: &str) -> R<Vec<(Tok, usize, usize)>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let start = i;
        if i >= b.len() {
            out.push((Tok::End, i, i));
            return Ok(out);
        }
        let rest = &b[i..];
        let word_op = |w: &[u8]| rest.starts_with(w) && ends_word(rest.get(w.len()));
        let (tok, len) = if word_op(b"gt") {
            (Tok::Bin(BinOp::Gt), 2)
        } else if word_op(b"lt") {
            (Tok::Bin(BinOp::Lt), 2)
        } else if word_op(b"ge") {
            (Tok::Bin(BinOp::Ge), 2)
        } else if word_op(b"le") {
            (Tok::Bin(BinOp::Le), 2)
        } else if word_op(b"ne") {
            (Tok::Bin(BinOp::Ne), 2)
        } else if word_op(b"eq") {
            (Tok::Bin(BinOp::Eq), 2)
        } else if word_op(b"or") {
            (Tok::Bin(BinOp::Or), 2)
        } else if word_op(b"and") {
            (Tok::Bin(BinOp::And), 3)
        } else if word_op(b"not") {
            (Tok::Not, 3)
        } else {
            match b[i] {
                b'[' => (Tok::LBrack, 1),
                b']' => (Tok::RBrack, 1),
                b'<' | b'>' => {
                    let mut j = 1;
                    while i + j < b.len() && b[i + j].is_ascii_whitespace() {
                        j += 1;
                    }
                    let n = b.get(i + j).copied();
                    if (n == Some(b'<') || n == Some(b'>')) && n != Some(b[i]) {
                        (Tok::Bin(BinOp::Ne), j + 1)
                    } else if b.get(i + 1) == Some(&b'=') {
                        (
                            Tok::Bin(if b[i] == b'>' { BinOp::Ge } else { BinOp::Le }),
                            2,
                        )
                    } else {
                        (
                            Tok::Bin(if b[i] == b'>' { BinOp::Gt } else { BinOp::Lt }),
                            1,
                        )
                    }
                }
                b'?' => (Tok::Quest, 1),
                b':' => (Tok::Colon, 1),
                b',' => (Tok::Bin(BinOp::Comma), 1),
                b'+' => (Tok::Bin(BinOp::Add), 1),
                b'-' => (Tok::Minus, 1),
                b'*' => (Tok::Bin(BinOp::Mul), 1),
                b'%' => (Tok::Bin(BinOp::Mod), 1),
                b'/' => (Tok::Bin(BinOp::Div), 1),
                b'^' => (Tok::Bin(BinOp::Pow), 1),
                b'(' => (Tok::LParen, 1),
                b')' => (Tok::RParen, 1),
                b'=' => (Tok::Bin(BinOp::Eq), 1),
                b'&' => (Tok::Bin(BinOp::And), 1),
                b'|' => (Tok::Bin(BinOp::Or), 1),
                b'~' => (Tok::Not, 1),
                b'"' => {
                    let end = s[i + 1..].find('"').map_or(b.len(), |k| i + 1 + k);
                    let word = s[i + 1..end].to_string();
                    (Tok::Str(word), (end + 1).min(b.len()) - i)
                }
                _ => match numparse(&s[i..]) {
                    Some((v, n)) if b.get(i + n) != Some(&b':') => (Tok::Num(v), n),
                    _ => {
                        let mut j = i;
                        let mut at = false;
                        while j < b.len() && !SPECIALS.contains(&b[j]) {
                            if b[j] == b'@' {
                                at = true;
                            } else if !at && (b[j] == b'[' || b[j] == b']') {
                                break;
                            }
                            j += 1;
                        }
                        if j == i {
                            return Err(cerr!("unexpected character '{}'", &s[i..=i]));
                        }
                        (Tok::Str(s[i..j].to_string()), j - i)
                    }
                },
            }
        };
        i += len;
        out.push((tok, start, i));
    }
}

/// One node of the parse tree (kept in an arena: a node refers to others by index).
#[derive(Debug, Clone)]
enum Node {
    Num(f64),
    /// A vector bound when a user function was defined.
    Const(Vector),
    /// A vector reference, looked up by ngspice's rules when evaluated.
    Name(String),
    /// `v(name)`: a vector of the current plot.
    VOf(String),
    Neg(usize),
    Not(usize),
    Bin(BinOp, usize, usize),
    Index(usize, usize),
    Range(usize, usize),
    Call(Func, usize),
    Tern(usize, usize, usize),
}

/// A user function (`define f(a, b) body`).
#[derive(Debug, Clone)]
pub struct UserFn {
    pub params: Vec<String>,
    pub body: String,
    /// Vectors the body names that existed when it was defined, with their values then:
    /// ngspice binds such names at `define` time (even a parameter's name, which then
    /// stands for the vector, not the argument).
    pub frozen: Vec<Vector>,
}

/// The names a function body refers to as vectors (words not called as functions).
pub fn free_names(body: &str) -> R<Vec<String>> {
    let toks = lex(body)?;
    let mut out: Vec<String> = Vec::new();
    for (k, (t, _, _)) in toks.iter().enumerate() {
        if let Tok::Str(s) = t
            && toks.get(k + 1).is_none_or(|n| n.0 != Tok::LParen)
            && !out.iter().any(|o| o.eq_ignore_ascii_case(s))
        {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// User functions by (name, number of arguments), with ngspice's predefined ones.
#[derive(Debug, Clone)]
pub struct Defs {
    pub map: HashMap<(String, usize), UserFn>,
}

impl Default for Defs {
    fn default() -> Self {
        let mut d = Defs {
            map: HashMap::new(),
        };
        for (head, body) in [
            ("max(x,y)", "(x gt y) * x + (x le y) * y"),
            ("min(x,y)", "(x lt y) * x + (x ge y) * y"),
            ("vdb(x)", "db(v(x))"),
            ("vdb(x,y)", "db(v(x) - v(y))"),
            ("vi(x)", "im(v(x))"),
            ("vi(x,y)", "im(v(x) - v(y))"),
            ("vm(x)", "mag(v(x))"),
            ("vm(x,y)", "mag(v(x) - v(y))"),
            ("vg(x)", "group_delay(v(x))"),
            ("gd(x)", "group_delay(v(x))"),
            ("vp(x)", "ph(v(x))"),
            ("vp(x,y)", "ph(v(x) - v(y))"),
            ("vr(x)", "re(v(x))"),
            ("vr(x,y)", "re(v(x) - v(y))"),
        ] {
            // the predefined heads are well-formed
            if let Ok((name, params)) = parse_head(head) {
                d.map.insert(
                    (name, params.len()),
                    UserFn {
                        params,
                        body: body.into(),
                        frozen: vec![],
                    },
                );
            }
        }
        d
    }
}

/// Parses `name(a, b)` of a `define`.
pub fn parse_head(head: &str) -> R<(String, Vec<String>)> {
    let head = head.trim();
    let (name, rest) = head
        .split_once('(')
        .ok_or_else(|| format!("define {head}: expected name(arguments)"))?;
    let args = rest
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(|| format!("define {head}: missing ')'"))?;
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return Err(cerr!("define {head}: '{name}' is not a function name"));
    }
    let params: Vec<String> = args
        .split(',')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    if params.iter().any(|p| p.is_empty()) {
        return Err(cerr!("define {head}: an argument name is empty"));
    }
    Ok((name, params))
}

struct Parser<'a> {
    toks: Vec<(Tok, usize, usize)>,
    pos: usize,
    nodes: &'a mut Vec<Node>,
    defs: &'a Defs,
    /// Parameters of the user function whose body is being read: name -> argument node.
    params: Vec<(String, usize)>,
    /// Vectors bound when that function was defined.
    frozen: Vec<Vector>,
    depth: usize,
}

// binding powers, higher binds tighter
const BP_TERN: u8 = 2;
const BP_OR: u8 = 4;
const BP_AND: u8 = 6;
const BP_CMP: u8 = 8;
const BP_NOT: u8 = 10;
const BP_COMMA: u8 = 12;
const BP_ADD: u8 = 14;
const BP_MUL: u8 = 16;
const BP_NEG: u8 = 18;
const BP_POW: u8 = 20;
const BP_INDEX: u8 = 22;

fn infix_bp(t: &Tok) -> Option<(u8, bool)> {
    Some(match t {
        Tok::Quest => (BP_TERN, true),
        Tok::Bin(op) => match op {
            BinOp::Or => (BP_OR, false),
            BinOp::And => (BP_AND, false),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                (BP_CMP, false)
            }
            BinOp::Comma => (BP_COMMA, true),
            BinOp::Add | BinOp::Sub => (BP_ADD, false),
            BinOp::Mul | BinOp::Div | BinOp::Mod => (BP_MUL, false),
            BinOp::Pow => (BP_POW, true),
        },
        Tok::Minus => (BP_ADD, false),
        Tok::LBrack => (BP_INDEX, false),
        _ => return None,
    })
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }
    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn push(&mut self, n: Node) -> usize {
        self.nodes.push(n);
        self.nodes.len() - 1
    }
    fn expect(&mut self, t: Tok, what: &str) -> R<()> {
        let got = self.next();
        if got == t {
            Ok(())
        } else {
            Err(cerr!("expected {what}, found {}", describe(&got)))
        }
    }

    fn expr(&mut self, min: u8) -> R<usize> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(cerr!("expression nested deeper than {MAX_DEPTH} levels"));
        }
        let mut lhs = self.prefix()?;
        while let Some((bp, right)) = infix_bp(self.peek()) {
            if bp <= min {
                break;
            }
            let t = self.next();
            let rmin = if right { bp - 1 } else { bp };
            lhs = match t {
                Tok::Quest => {
                    let a = self.expr(0)?;
                    self.expect(Tok::Colon, "':' of '? :'")?;
                    let b = self.expr(rmin)?;
                    self.push(Node::Tern(lhs, a, b))
                }
                Tok::LBrack => {
                    if *self.peek() == Tok::LBrack {
                        self.next();
                        let e = self.expr(0)?;
                        self.expect(Tok::RBrack, "']]'")?;
                        self.expect(Tok::RBrack, "']]'")?;
                        self.push(Node::Range(lhs, e))
                    } else {
                        let e = self.expr(0)?;
                        self.expect(Tok::RBrack, "']'")?;
                        self.push(Node::Index(lhs, e))
                    }
                }
                Tok::Minus => {
                    let r = self.expr(rmin)?;
                    self.push(Node::Bin(BinOp::Sub, lhs, r))
                }
                Tok::Bin(op) => {
                    let r = self.expr(rmin)?;
                    self.push(Node::Bin(op, lhs, r))
                }
                _ => unreachable_tok(&t)?,
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn prefix(&mut self) -> R<usize> {
        match self.next() {
            Tok::Num(v) => Ok(self.push(Node::Num(v))),
            Tok::Str(s) => {
                if *self.peek() == Tok::LParen {
                    self.next();
                    let arg = self.expr(0)?;
                    self.expect(Tok::RParen, "')'")?;
                    return self.call(&s, arg);
                }
                if let Some(v) = self.frozen.iter().find(|v| v.name.eq_ignore_ascii_case(&s)) {
                    let v = v.clone();
                    return Ok(self.push(Node::Const(v)));
                }
                let lower = s.to_ascii_lowercase();
                if let Some(&(_, n)) = self.params.iter().rev().find(|(p, _)| *p == lower) {
                    return Ok(n);
                }
                Ok(self.push(Node::Name(s)))
            }
            Tok::LParen => {
                let e = self.expr(0)?;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::Minus => {
                let e = self.expr(BP_NEG)?;
                Ok(self.push(Node::Neg(e)))
            }
            Tok::Not => {
                let e = self.expr(BP_NOT)?;
                Ok(self.push(Node::Not(e)))
            }
            t => Err(cerr!("expected a value, found {}", describe(&t))),
        }
    }

    /// The arguments of a call: the comma chain at the top of `arg`, split.
    fn args(&self, arg: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut k = arg;
        while let Node::Bin(BinOp::Comma, a, b) = self.nodes[k] {
            out.push(a);
            k = b;
        }
        out.push(k);
        out
    }

    /// The name a value node gives `f(name)` when `f` is no function (`i(v1)`, `v(3)`).
    fn value_name(&self, n: usize) -> Option<String> {
        match &self.nodes[n] {
            Node::Name(s) => Some(s.clone()),
            Node::Const(v) => Some(v.name.clone()),
            Node::Num(v) => Some(if v.fract() == 0.0 && v.abs() < 2.147e9 {
                format!("{}", *v as i64)
            } else {
                super::cfmt::g_upper(*v)
            }),
            _ => None,
        }
    }

    fn call(&mut self, name: &str, arg: usize) -> R<usize> {
        let lname = name.to_ascii_lowercase();
        if lname == "v" {
            let args = self.args(arg);
            let mut vs = Vec::new();
            for a in &args {
                let n = self
                    .value_name(*a)
                    .ok_or_else(|| "v() takes node names: v(out) or v(a,b)".to_string())?;
                vs.push(self.push(Node::VOf(n)));
            }
            return match vs.as_slice() {
                [one] => Ok(*one),
                [a, b] => Ok(self.push(Node::Bin(BinOp::Sub, *a, *b))),
                _ => Err("v() takes one or two node names".into()),
            };
        }
        if let Some(f) = funcs::lookup(&lname) {
            return Ok(self.push(Node::Call(f, arg)));
        }
        if funcs::is_missing(&lname) {
            return Err(cerr!(
                "the ngspice function {lname}() is not supported by neurospice"
            ));
        }
        let args = self.args(arg);
        if let Some(u) = self.defs.map.get(&(lname.clone(), args.len())).cloned() {
            let toks = lex(&u.body)?;
            let saved_toks = std::mem::replace(&mut self.toks, toks);
            let saved_pos = std::mem::replace(&mut self.pos, 0);
            // the body sees its own parameters only (the arguments were read in the caller's)
            let binds: Vec<(String, usize)> = u.params.iter().cloned().zip(args).collect();
            let saved_params = std::mem::replace(&mut self.params, binds);
            let saved_frozen = std::mem::replace(&mut self.frozen, u.frozen.clone());
            let body = self.expr(0);
            let trailing = *self.peek() != Tok::End;
            self.params = saved_params;
            self.frozen = saved_frozen;
            self.toks = saved_toks;
            self.pos = saved_pos;
            let body = body.map_err(|e| format!("in the body of {lname}(): {e}"))?;
            if trailing {
                return Err(cerr!("the body of {lname}() is not one expression"));
            }
            return Ok(body);
        }
        if let Some(n) = self.value_name(arg) {
            return Ok(self.push(Node::Name(format!("{name}({n})"))));
        }
        let arity: Vec<usize> = self
            .defs
            .map
            .keys()
            .filter(|(n, _)| *n == lname)
            .map(|(_, k)| *k)
            .collect();
        if !arity.is_empty() {
            return Err(cerr!(
                "the function {lname}() takes {} argument(s), not {}",
                arity
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
                args.len()
            ));
        }
        Err(cerr!("no such function as {name}()"))
    }
}

fn unreachable_tok(t: &Tok) -> R<usize> {
    Err(cerr!("unexpected {}", describe(t)))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(v) => format!("number {v}"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Bin(op) => format!("'{}'", op.symbol()),
        Tok::Minus => "'-'".into(),
        Tok::Not => "'~'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBrack => "'['".into(),
        Tok::RBrack => "']'".into(),
        Tok::Quest => "'?'".into(),
        Tok::Colon => "':'".into(),
        Tok::End => "the end of the expression".into(),
    }
}

/// One step of a compiled expression.
#[derive(Debug, Clone)]
enum Op {
    Num(f64),
    Const(Vector),
    Load(String),
    LoadCur(String),
    Neg,
    Not,
    Bin(BinOp),
    Index,
    Range,
    Call(Func),
    /// Pops the condition of `? :`; jumps to the target when it is false.
    Cond(usize),
    Jump(usize),
}

/// A compiled expression and the text it came from (the name its result takes).
#[derive(Debug, Clone)]
pub struct Expr {
    code: Vec<Op>,
    pub text: String,
}

impl Expr {
    /// Every vector name the expression reads (ngspice checks them all before evaluating,
    /// also in the branch of `? :` not taken).
    pub fn names(&self) -> impl Iterator<Item = (&str, bool)> {
        self.code.iter().filter_map(|o| match o {
            Op::Load(n) => Some((n.as_str(), false)),
            Op::LoadCur(n) => Some((n.as_str(), true)),
            _ => None,
        })
    }
}

/// Compiles the tree below `root` into postfix code, iteratively.
fn compile(nodes: &[Node], root: usize) -> R<Vec<Op>> {
    enum Step {
        Visit(usize),
        Emit(Op),
        /// Patch the jump remembered at the top of `marks` to here (the end of `? :`).
        Patch,
        /// Emit a jump whose target is filled in later, remember where (pushed on `marks`).
        Mark(bool),
        /// Patch the `Cond` remembered at the top of marks to here (the else branch starts).
        PatchCond,
    }
    let mut code: Vec<Op> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut todo = vec![Step::Visit(root)];
    while let Some(s) = todo.pop() {
        if code.len() > MAX_CODE {
            return Err(cerr!(
                "the expression expands to more than {MAX_CODE} steps (user functions nested too deeply?)"
            ));
        }
        match s {
            Step::Emit(op) => code.push(op),
            Step::Mark(is_cond) => {
                marks.push(code.len());
                code.push(if is_cond { Op::Cond(0) } else { Op::Jump(0) });
            }
            Step::PatchCond => {
                // the else branch starts here: the Cond below the Jump jumps here
                let j = marks.pop().unwrap_or(0);
                let c = marks.pop().unwrap_or(0);
                code[c] = Op::Cond(code.len());
                marks.push(j);
            }
            Step::Patch => {
                let j = marks.pop().unwrap_or(0);
                code[j] = Op::Jump(code.len());
            }
            Step::Visit(n) => match &nodes[n] {
                Node::Num(v) => code.push(Op::Num(*v)),
                Node::Const(v) => code.push(Op::Const(v.clone())),
                Node::Name(s) => code.push(Op::Load(s.clone())),
                Node::VOf(s) => code.push(Op::LoadCur(s.clone())),
                Node::Neg(a) => {
                    todo.push(Step::Emit(Op::Neg));
                    todo.push(Step::Visit(*a));
                }
                Node::Not(a) => {
                    todo.push(Step::Emit(Op::Not));
                    todo.push(Step::Visit(*a));
                }
                Node::Bin(op, a, b) => {
                    todo.push(Step::Emit(Op::Bin(*op)));
                    todo.push(Step::Visit(*b));
                    todo.push(Step::Visit(*a));
                }
                Node::Index(a, b) => {
                    todo.push(Step::Emit(Op::Index));
                    todo.push(Step::Visit(*b));
                    todo.push(Step::Visit(*a));
                }
                Node::Range(a, b) => {
                    todo.push(Step::Emit(Op::Range));
                    todo.push(Step::Visit(*b));
                    todo.push(Step::Visit(*a));
                }
                Node::Call(f, a) => {
                    todo.push(Step::Emit(Op::Call(*f)));
                    todo.push(Step::Visit(*a));
                }
                Node::Tern(c, a, b) => {
                    // c Cond(else) a Jump(end) else: b end:
                    todo.push(Step::Patch);
                    todo.push(Step::Visit(*b));
                    todo.push(Step::PatchCond);
                    todo.push(Step::Mark(false));
                    todo.push(Step::Visit(*a));
                    todo.push(Step::Mark(true));
                    todo.push(Step::Visit(*c));
                }
            },
        }
    }
    Ok(code)
}

/// Parses expression text into the expressions it holds, one after another as `print`
/// takes them (`v(a) v(b)*2` is two; `v(a) -v(b)` is one, a difference, as in ngspice).
pub fn parse_list(text: &str, defs: &Defs) -> R<Vec<Expr>> {
    let toks = lex(text)?;
    let mut nodes = Vec::new();
    let mut p = Parser {
        toks,
        pos: 0,
        nodes: &mut nodes,
        defs,
        params: Vec::new(),
        frozen: Vec::new(),
        depth: 0,
    };
    let mut roots = Vec::new();
    while *p.peek() != Tok::End {
        let start = p.toks[p.pos].1;
        p.depth = 0;
        let root = p.expr(0)?;
        let end = p.toks[p.pos.saturating_sub(1)].2;
        if matches!(p.peek(), Tok::RParen | Tok::RBrack | Tok::Colon) {
            return Err(cerr!("unexpected {}", describe(p.peek())));
        }
        roots.push((root, text[start..end.max(start)].trim().to_string()));
    }
    let mut out = Vec::new();
    for (root, text) in roots {
        out.push(Expr {
            code: compile(&nodes, root)?,
            text,
        });
    }
    Ok(out)
}

/// Parses text that must be exactly one expression.
pub fn parse_one(text: &str, defs: &Defs) -> R<Expr> {
    let mut v = parse_list(text, defs)?;
    match v.len() {
        1 => Ok(v.remove(0)),
        0 => Err("empty expression".into()),
        _ => Err(cerr!(
            "'{text}' is {} expressions, not one (an operator missing?)",
            v.len()
        )),
    }
}

/// A vector produced by evaluation, with the plot it belongs to (a vector read from a plot
/// belongs there; a computed one to the current plot).
#[derive(Debug, Clone)]
pub struct Val {
    pub vec: Vector,
    pub plot: u64,
}

/// What evaluation needs from the interpreter.
pub trait Env {
    /// ngspice's `vec_get`: every vector a name stands for (several for `all`, `allv`,
    /// `tran1.all`), or `None`.
    fn lookup(&mut self, name: &str) -> R<Option<Vec<Val>>>;
    /// `v(name)`: the vector of the current plot.
    fn lookup_cur(&mut self, name: &str) -> Option<Val>;
    /// The scale of a plot (`deriv`, `integ`, `[[ ]]`).
    fn scale(&self, plot: u64) -> Option<Vector>;
    fn cur_plot(&self) -> u64;
    /// The context of the built-in functions (angle unit, random numbers, warnings).
    fn fctx(&mut self) -> &mut funcs::Ctx;
}

fn single(mut v: Vec<Val>, what: &str) -> R<Val> {
    if v.len() != 1 {
        return Err(cerr!(
            "{what} works on one vector, not on the {} of a wildcard",
            v.len()
        ));
    }
    Ok(v.remove(0))
}

/// Evaluates a compiled expression. `check` first verifies that every name exists.
pub fn eval(e: &Expr, env: &mut dyn Env, check: bool) -> R<Vec<Val>> {
    if check {
        for (n, cur) in e.names() {
            let found = if cur {
                env.lookup_cur(n).is_some()
            } else {
                env.lookup(n)?.is_some()
            };
            if !found {
                return Err(cerr!("no such vector {n}"));
            }
        }
    }
    let mut st: Vec<Vec<Val>> = Vec::new();
    let mut pc = 0;
    let pop = |st: &mut Vec<Vec<Val>>| st.pop().ok_or_else(|| "internal: empty stack".to_string());
    while pc < e.code.len() {
        let op = &e.code[pc];
        pc += 1;
        let cur = env.cur_plot();
        match op {
            Op::Num(v) => st.push(vec![Val {
                vec: Vector::real(num_name(*v), VType::NoType, vec![*v]),
                plot: cur,
            }]),
            Op::Const(v) => st.push(vec![Val {
                vec: v.clone(),
                plot: cur,
            }]),
            Op::Load(n) => {
                let v = env
                    .lookup(n)?
                    .ok_or_else(|| format!("no such vector {n}"))?;
                st.push(v);
            }
            Op::LoadCur(n) => {
                let v = env
                    .lookup_cur(n)
                    .ok_or_else(|| format!("no such vector {n}"))?;
                st.push(vec![v]);
            }
            Op::Neg | Op::Not => {
                let a = pop(&mut st)?;
                let f = if matches!(op, Op::Neg) {
                    Func::Minus
                } else {
                    Func::Not
                };
                let mut out = Vec::with_capacity(a.len());
                for v in a {
                    let scale = env.scale(v.plot);
                    out.push(Val {
                        vec: funcs::apply(f, &v.vec, scale.as_ref(), env.fctx())?,
                        plot: cur,
                    });
                }
                st.push(out);
            }
            Op::Call(f) => {
                let a = pop(&mut st)?;
                let mut out = Vec::with_capacity(a.len());
                for v in a {
                    let scale = env.scale(v.plot);
                    let mut r = funcs::apply(*f, &v.vec, scale.as_ref(), env.fctx())
                        .map_err(|e| format!("{}({}): {e}", f.name(), v.vec.name))?;
                    r.name = format!("{}({})", f.name(), v.vec.name);
                    out.push(Val { vec: r, plot: cur });
                }
                st.push(out);
            }
            Op::Bin(b) => {
                let y = single(pop(&mut st)?, b.symbol())?;
                let x = single(pop(&mut st)?, b.symbol())?;
                let r = binary(*b, &x.vec, &y.vec)?;
                st.push(vec![Val { vec: r, plot: cur }]);
            }
            Op::Index => {
                let i = single(pop(&mut st)?, "[]")?;
                let v = single(pop(&mut st)?, "[]")?;
                let r = index(&v.vec, &i.vec, env.fctx())?;
                st.push(vec![Val { vec: r, plot: cur }]);
            }
            Op::Range => {
                let i = single(pop(&mut st)?, "[[]]")?;
                let v = single(pop(&mut st)?, "[[]]")?;
                let scale = env
                    .scale(v.plot)
                    .ok_or_else(|| format!("no scale for vector {}", v.vec.name))?;
                let r = range(&v.vec, &i.vec, &scale)?;
                st.push(vec![Val {
                    vec: r,
                    plot: v.plot,
                }]);
            }
            Op::Cond(target) => {
                let c = single(pop(&mut st)?, "? :")?;
                if c.vec.len() != 1 {
                    return Err(cerr!(
                        "the condition of '? :' must be a scalar, but it has {} values",
                        c.vec.len()
                    ));
                }
                if c.vec.data.c(0).is_zero() {
                    pc = *target;
                }
            }
            Op::Jump(target) => pc = *target,
        }
    }
    let mut r = pop(&mut st)?;
    if r.len() == 1 {
        r[0].vec.name = e.text.clone();
    }
    Ok(r)
}

/// The name ngspice gives a number (`%d` when it is an integer).
fn num_name(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 2.147e9 {
        format!("{}", v as i64)
    } else {
        super::cfmt::g_upper(v)
    }
}

/// `a op b` element by element; the shorter operand is extended with its last element.
pub fn binary(op: BinOp, a: &Vector, b: &Vector) -> R<Vector> {
    let n = a.len().max(b.len());
    let name = format!("({}){}({})", a.name, op.symbol(), b.name);
    let vtype = match (op, a.vtype, b.vtype) {
        (BinOp::Mul, VType::Voltage, VType::Voltage) => VType::Voltage,
        (BinOp::Mul, VType::Voltage, VType::Current)
        | (BinOp::Mul, VType::Current, VType::Voltage) => VType::Power,
        (BinOp::Mul, VType::Current, VType::Current) => VType::Current,
        (BinOp::Div, VType::Voltage, VType::Current) => VType::Impedance,
        (BinOp::Div, VType::Current, VType::Voltage) => VType::Admittance,
        _ => VType::NoType,
    };
    let at = |d: &Data, i: usize| {
        let k = i.min(d.len() - 1);
        d.c(k)
    };
    let data = if a.is_real() && b.is_real() && op != BinOp::Comma {
        let (Data::Real(x), Data::Real(y)) = (&a.data, &b.data) else {
            return Err("internal: real operands".into());
        };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (p, q) = (x[i.min(x.len() - 1)], y[i.min(y.len() - 1)]);
            out.push(real_op(op, p, q)?);
        }
        Data::Real(out)
    } else if op.relational() {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (p, q) = (at(&a.data, i), at(&b.data, i));
            let t = match op {
                BinOp::Eq => p == q,
                BinOp::Ne => p != q,
                BinOp::Lt => p.re < q.re,
                BinOp::Gt => p.re > q.re,
                BinOp::Le => p.re <= q.re,
                BinOp::Ge => p.re >= q.re,
                BinOp::And => !p.is_zero() && !q.is_zero(),
                _ => !p.is_zero() || !q.is_zero(),
            };
            out.push(if t { 1.0 } else { 0.0 });
        }
        Data::Real(out)
    } else {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (p, q) = (at(&a.data, i), at(&b.data, i));
            out.push(match op {
                BinOp::Add => p + q,
                BinOp::Sub => p - q,
                BinOp::Mul => p * q,
                BinOp::Div => {
                    if q.is_zero() {
                        return Err("division by zero".into());
                    }
                    p / q
                }
                BinOp::Pow => p.pow(q),
                BinOp::Comma => C::new(p.re - q.im, p.im + q.re),
                BinOp::Mod => {
                    return Err("'%' takes real operands".into());
                }
                _ => return Err("internal: relational op".into()),
            });
        }
        Data::Complex(out)
    };
    Ok(Vector { name, vtype, data })
}

fn real_op(op: BinOp, p: f64, q: f64) -> R<f64> {
    let b = |t: bool| if t { 1.0 } else { 0.0 };
    Ok(match op {
        BinOp::Add => p + q,
        BinOp::Sub => p - q,
        BinOp::Mul => p * q,
        BinOp::Div => {
            if q == 0.0 {
                return Err("division by zero".into());
            }
            p / q
        }
        BinOp::Mod => {
            let (r1, r2) = (p.abs().floor(), q.abs().floor());
            if r2 <= 0.0 {
                return Err("'%' by zero".into());
            }
            r1 - (r1 / r2).floor() * r2
        }
        BinOp::Pow => {
            if p < 0.0 && q.fract() != 0.0 {
                return Err(cerr!("{p} ^ {q}: a negative number to a fractional power"));
            }
            p.powf(q)
        }
        BinOp::Eq => b(p == q),
        BinOp::Ne => b(p != q),
        BinOp::Lt => b(p < q),
        BinOp::Gt => b(p > q),
        BinOp::Le => b(p <= q),
        BinOp::Ge => b(p >= q),
        BinOp::And => b(p != 0.0 && q != 0.0),
        BinOp::Or => b(p != 0.0 || q != 0.0),
        BinOp::Comma => return Err("internal: comma".into()),
    })
}

/// `v[i]` (one element) or `v[lo, hi]` (elements lo..hi, reversed if hi < lo); indices out of
/// range are clamped with a warning, as in ngspice.
fn index(v: &Vector, i: &Vector, cx: &mut funcs::Ctx) -> R<Vector> {
    if v.len() <= 1 {
        return Err(cerr!("cannot index the scalar {}", v.name));
    }
    if i.len() != 1 {
        return Err(cerr!("the index {} is not one number", i.name));
    }
    let z = i.data.c(0);
    let round = |x: f64| (x + 0.5).floor();
    let (mut down, mut up) = if i.is_real() {
        (round(z.re), round(z.re))
    } else {
        (round(z.re), round(z.im))
    };
    let rev = up < down;
    if rev {
        std::mem::swap(&mut up, &mut down);
    }
    let max = (v.len() - 1) as f64;
    for (what, x) in [("upper", &mut up), ("lower", &mut down)] {
        if *x < 0.0 {
            cx.warn(format!("{what} limit {} should be 0", *x));
            *x = 0.0;
        }
        if *x > max {
            cx.warn(format!("{what} limit {} should be {max}", *x));
            *x = max;
        }
    }
    let (lo, hi) = (down as usize, up as usize);
    let mut data = v.data.slice(lo, hi);
    if rev {
        match &mut data {
            Data::Real(x) => x.reverse(),
            Data::Complex(x) => x.reverse(),
        }
    }
    Ok(Vector {
        name: format!("{}[{}]", v.name, i.name),
        vtype: v.vtype,
        data,
    })
}

/// `v[[lo, hi]]`: the elements whose scale value lies in [lo, hi] (`v[[x]]`: equal to x).
fn range(v: &Vector, i: &Vector, scale: &Vector) -> R<Vector> {
    if i.len() != 1 {
        return Err(cerr!("the range {} is not one number", i.name));
    }
    let z = i.data.c(0);
    let (mut low, mut up) = if i.is_real() {
        (z.re, z.re)
    } else {
        (z.re, z.im)
    };
    let rev = up < low;
    if rev {
        std::mem::swap(&mut low, &mut up);
    }
    // ngspice matches scale values to within a rounding of the bounds (3 * 0.1 is in [[0.3]])
    let (lo, hi) = (low - f64::EPSILON * low.abs(), up + f64::EPSILON * up.abs());
    let n = v.len().min(scale.len());
    let mut keep: Vec<usize> = (0..n)
        .filter(|&k| {
            let t = scale.data.re(k);
            t >= lo && t <= hi
        })
        .collect();
    if rev {
        keep.reverse();
    }
    let data = match &v.data {
        Data::Real(x) => Data::Real(keep.iter().map(|&k| x[k]).collect()),
        Data::Complex(x) => Data::Complex(keep.iter().map(|&k| x[k]).collect()),
    };
    if data.is_empty() {
        return Err(cerr!(
            "{}[[{}]]: no point of the scale lies in the range",
            v.name,
            i.name
        ));
    }
    Ok(Vector {
        name: format!("{}[[{}]]", v.name, i.name),
        vtype: v.vtype,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct E {
        vecs: Vec<Vector>,
        cx: funcs::Ctx,
    }
    impl Env for E {
        fn lookup(&mut self, name: &str) -> R<Option<Vec<Val>>> {
            Ok(self.vecs.iter().find(|v| v.name == name).map(|v| {
                vec![Val {
                    vec: v.clone(),
                    plot: 1,
                }]
            }))
        }
        fn lookup_cur(&mut self, name: &str) -> Option<Val> {
            self.vecs.iter().find(|v| v.name == name).map(|v| Val {
                vec: v.clone(),
                plot: 1,
            })
        }
        fn scale(&self, _: u64) -> Option<Vector> {
            self.vecs.first().cloned()
        }
        fn cur_plot(&self) -> u64 {
            1
        }
        fn fctx(&mut self) -> &mut funcs::Ctx {
            &mut self.cx
        }
    }

    fn run(text: &str) -> R<Vec<f64>> {
        let mut env = E {
            vecs: vec![
                Vector::real("t", VType::Time, vec![0.0, 1.0, 2.0, 3.0]),
                Vector::real("out", VType::Voltage, vec![1.0, 2.0, 3.0, 4.0]),
            ],
            cx: funcs::Ctx::new(1),
        };
        let e = parse_one(text, &Defs::default())?;
        let r = eval(&e, &mut env, true)?;
        Ok(r[0].vec.data.real_parts())
    }

    #[test]
    fn precedence_as_ngspice() {
        assert_eq!(run("1+2*3").unwrap(), [7.0]);
        assert_eq!(run("-2^2").unwrap(), [-4.0]);
        assert_eq!(run("2^3^2").unwrap(), [512.0]);
        assert_eq!(run("1 - 2 - 3").unwrap(), [-4.0]);
        assert_eq!(run("2 gt 1 and 3 lt 2").unwrap(), [0.0]);
        assert_eq!(run("not 0 = 1").unwrap(), [1.0]);
        assert_eq!(run("1 ? 2 : 3").unwrap(), [2.0]);
        assert_eq!(run("0 ? 2 : 1 ? 4 : 5").unwrap(), [4.0]);
        assert_eq!(run("(1, 2) + 1").unwrap(), [2.0]);
        assert_eq!(run("7 % 3").unwrap(), [1.0]);
    }

    #[test]
    fn vectors_broadcast_and_index() {
        assert_eq!(run("out * 2").unwrap(), [2.0, 4.0, 6.0, 8.0]);
        assert_eq!(run("v(out)[2]").unwrap(), [3.0]);
        assert_eq!(run("out[1,2]").unwrap(), [2.0, 3.0]);
        assert_eq!(run("out[2,1]").unwrap(), [3.0, 2.0]);
        assert_eq!(run("out[[1,2]]").unwrap(), [2.0, 3.0]);
        assert_eq!(run("out + t[1,2]").unwrap(), [2.0, 4.0, 5.0, 6.0]);
        assert_eq!(run("max(out, 2.5)").unwrap(), [2.5, 2.5, 3.0, 4.0]);
        assert!(run("nope + 1").is_err());
        assert!(run("out[1][0]").is_err());
    }

    #[test]
    fn list_and_names() {
        let l = parse_list("v(a) v(b)*2 x -y 3 (z)", &Defs::default()).unwrap();
        let names: Vec<&str> = l.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(names, ["v(a)", "v(b)*2", "x -y", "3", "(z)"]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(
            parse_one(&deep, &Defs::default())
                .unwrap_err()
                .to_string()
                .contains("deeper")
        );
        let long = vec!["1"; 100_000].join("+");
        assert_eq!(run(&long).unwrap(), [100_000.0]);
        let mut d = Defs::default();
        d.map.insert(
            ("f".into(), 1),
            UserFn {
                params: vec!["x".into()],
                body: "f(x)".into(),
                frozen: vec![],
            },
        );
        assert!(parse_one("f(1)", &d).is_err());
        d.map.insert(
            ("g".into(), 1),
            UserFn {
                params: vec!["x".into()],
                body: "x*x*x*x*x*x*x*x*x*x".into(),
                frozen: vec![],
            },
        );
        let nest = format!("{}1{}", "g(".repeat(8), ")".repeat(8));
        assert!(
            parse_one(&nest, &d)
                .unwrap_err()
                .to_string()
                .contains("steps")
        );
    }
}
