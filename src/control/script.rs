//! A control block compiled once into a flat program: statements, and jumps for `while`,
//! `dowhile`, `repeat`, `foreach`, `if`/`else`, `break n`, `continue n`, `label`/`goto`.
//! Blocks are matched with an explicit stack, so nesting depth costs no recursion, and
//! running the program is a loop over an instruction pointer.

use super::source::{Line, words};
use crate::error::{Error, Loc, Result};

/// A statement: its words before variable substitution, and where it is.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub words: Vec<String>,
    pub loc: Loc,
}

/// One instruction.
#[derive(Debug, Clone)]
pub enum Ins {
    /// Runs statement `stmts[k]` as a command.
    Cmd(usize),
    /// Evaluates the condition `stmts[cond]`; jumps to `target` when it is false.
    IfFalse {
        cond: usize,
        target: usize,
    },
    /// Evaluates the condition `stmts[cond]`; jumps to `target` when it is true.
    IfTrue {
        cond: usize,
        target: usize,
    },
    Jump(usize),
    /// Starts a `repeat` loop: the count from `stmts[count]` (none: forever).
    RepeatInit {
        slot: usize,
        count: Option<usize>,
    },
    /// Takes one turn of the `repeat` loop, or leaves it for `exit`.
    RepeatNext {
        slot: usize,
        exit: usize,
    },
    /// Starts a `foreach` loop over the words of `stmts[list]`.
    ForeachInit {
        slot: usize,
        list: usize,
    },
    /// Sets the loop variable to the next word, or leaves the loop for `exit`.
    ForeachNext {
        slot: usize,
        var: String,
        exit: usize,
    },
}

/// A compiled control block.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub stmts: Vec<Stmt>,
    pub code: Vec<Ins>,
    /// Number of loop state slots the program needs.
    pub slots: usize,
}

enum Kind {
    While,
    DoWhile {
        cond: usize,
    },
    Repeat,
    Foreach,
    If {
        jump_at: usize,
        else_jump: Option<usize>,
    },
}

struct Open {
    kind: Kind,
    /// Where `continue` goes (patched for `dowhile`, whose test comes at the end).
    cont: usize,
    /// `continue` jumps to patch when the target is only known at `end` (`dowhile`).
    conts: Vec<usize>,
    /// `break` jumps to patch at `end`.
    breaks: Vec<usize>,
    /// The block labels in it belong to.
    block: usize,
    loc: Loc,
}

impl Open {
    fn is_loop(&self) -> bool {
        !matches!(self.kind, Kind::If { .. })
    }
}

fn count_arg(w: &[String], what: &str, loc: &Loc) -> Result<usize> {
    match w.get(1) {
        None => Ok(1),
        Some(s) => {
            let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
            match digits.parse::<usize>() {
                Ok(n) if n > 0 && w.len() == 2 => Ok(n),
                _ => Err(Error::netlist(
                    format!("{what} takes a positive number of loop levels, found '{s}'"),
                    Some(loc),
                )),
            }
        }
    }
}

/// Compiles control lines into a program. Errors: an `end` or `else` without a block,
/// a block without its `end`, `break`/`continue` outside a loop, a `goto` whose label is
/// not in its block or an enclosing one.
pub fn compile(lines: &[Line]) -> Result<Script> {
    let mut sc = Script::default();
    let mut open: Vec<Open> = Vec::new();
    // block tree for labels: parent of each block (block 0 is the top level)
    let mut parent: Vec<usize> = vec![0];
    let mut labels: Vec<(String, usize, usize)> = Vec::new(); // (name, block, pc)
    let mut gotos: Vec<(String, usize, usize, Loc)> = Vec::new(); // (name, block, ins, loc)
    let cur_block = |open: &Vec<Open>| open.last().map_or(0, |o| o.block);
    let new_block = |parent: &mut Vec<usize>, p: usize| {
        parent.push(p);
        parent.len() - 1
    };
    for line in lines {
        let w = words(&line.text);
        let Some(first) = w.first() else { continue };
        let cmd = first.to_ascii_lowercase();
        let loc = line.loc.clone();
        let stmt = |sc: &mut Script, words: Vec<String>| {
            sc.stmts.push(Stmt {
                words,
                loc: loc.clone(),
            });
            sc.stmts.len() - 1
        };
        let pc = sc.code.len();
        match cmd.as_str() {
            "while" | "if" | "dowhile" => {
                if w.len() < 2 {
                    return Err(Error::netlist(
                        format!("{cmd} needs a condition"),
                        Some(&loc),
                    ));
                }
                let cond = stmt(&mut sc, w[1..].to_vec());
                let block = new_block(&mut parent, cur_block(&open));
                let kind = match cmd.as_str() {
                    "while" => {
                        sc.code.push(Ins::IfFalse { cond, target: 0 });
                        Kind::While
                    }
                    "if" => {
                        sc.code.push(Ins::IfFalse { cond, target: 0 });
                        Kind::If {
                            jump_at: pc,
                            else_jump: None,
                        }
                    }
                    _ => Kind::DoWhile { cond },
                };
                open.push(Open {
                    kind,
                    cont: pc,
                    conts: vec![],
                    breaks: vec![],
                    block,
                    loc,
                });
            }
            "repeat" => {
                let count = if w.len() > 1 {
                    Some(stmt(&mut sc, w[1..].to_vec()))
                } else {
                    None
                };
                let slot = sc.slots;
                sc.slots += 1;
                sc.code.push(Ins::RepeatInit { slot, count });
                sc.code.push(Ins::RepeatNext { slot, exit: 0 });
                let block = new_block(&mut parent, cur_block(&open));
                open.push(Open {
                    kind: Kind::Repeat,
                    cont: pc + 1,
                    conts: vec![],
                    breaks: vec![],
                    block,
                    loc,
                });
            }
            "foreach" => {
                if w.len() < 2 {
                    return Err(Error::netlist(
                        "foreach needs a variable and a list of values",
                        Some(&loc),
                    ));
                }
                let list = stmt(&mut sc, w[2..].to_vec());
                let slot = sc.slots;
                sc.slots += 1;
                sc.code.push(Ins::ForeachInit { slot, list });
                sc.code.push(Ins::ForeachNext {
                    slot,
                    var: w[1].to_ascii_lowercase(),
                    exit: 0,
                });
                let block = new_block(&mut parent, cur_block(&open));
                open.push(Open {
                    kind: Kind::Foreach,
                    cont: pc + 1,
                    conts: vec![],
                    breaks: vec![],
                    block,
                    loc,
                });
            }
            "else" => {
                let p = cur_block(&open);
                match open.last_mut() {
                    Some(Open {
                        kind:
                            Kind::If {
                                jump_at,
                                else_jump: else_jump @ None,
                            },
                        block,
                        ..
                    }) => {
                        sc.code.push(Ins::Jump(0));
                        *else_jump = Some(pc);
                        let j = *jump_at;
                        if let Ins::IfFalse { target, .. } = &mut sc.code[j] {
                            *target = pc + 1;
                        }
                        // the else branch is a block of its own for labels
                        let up = parent[p];
                        *block = new_block(&mut parent, up);
                    }
                    _ => {
                        return Err(Error::netlist(
                            "else without an if (or a second else)",
                            Some(&loc),
                        ));
                    }
                }
            }
            "end" => {
                let Some(o) = open.pop() else {
                    return Err(Error::netlist("end without a block to end", Some(&loc)));
                };
                let end_pc = match o.kind {
                    Kind::While | Kind::Repeat | Kind::Foreach => {
                        sc.code.push(Ins::Jump(o.cont));
                        let exit = sc.code.len();
                        match &mut sc.code[o.cont] {
                            Ins::IfFalse { target, .. } => *target = exit,
                            Ins::RepeatNext { exit: e, .. } | Ins::ForeachNext { exit: e, .. } => {
                                *e = exit
                            }
                            _ => {}
                        }
                        exit
                    }
                    Kind::DoWhile { cond } => {
                        let test = sc.code.len();
                        sc.code.push(Ins::IfTrue {
                            cond,
                            target: o.cont,
                        });
                        for c in &o.conts {
                            sc.code[*c] = Ins::Jump(test);
                        }
                        sc.code.len()
                    }
                    Kind::If { jump_at, else_jump } => {
                        let end = sc.code.len();
                        match else_jump {
                            Some(j) => sc.code[j] = Ins::Jump(end),
                            None => {
                                if let Ins::IfFalse { target, .. } = &mut sc.code[jump_at] {
                                    *target = end;
                                }
                            }
                        }
                        end
                    }
                };
                for b in o.breaks {
                    sc.code[b] = Ins::Jump(end_pc);
                }
            }
            "break" | "continue" => {
                let n = count_arg(&w, &cmd, &loc)?;
                let loops: Vec<usize> = (0..open.len())
                    .rev()
                    .filter(|&k| open[k].is_loop())
                    .collect();
                let Some(&k) = loops.get(n - 1) else {
                    return Err(Error::netlist(
                        format!("{cmd} {n}: only {} loop(s) enclose it", loops.len()),
                        Some(&loc),
                    ));
                };
                sc.code.push(Ins::Jump(0));
                if cmd == "break" {
                    open[k].breaks.push(pc);
                } else if matches!(open[k].kind, Kind::DoWhile { .. }) {
                    open[k].conts.push(pc);
                } else {
                    sc.code[pc] = Ins::Jump(open[k].cont);
                }
            }
            "label" => {
                let Some(name) = w.get(1) else {
                    return Err(Error::netlist("label needs a name", Some(&loc)));
                };
                labels.push((name.to_ascii_lowercase(), cur_block(&open), pc));
            }
            "goto" => {
                let Some(name) = w.get(1) else {
                    return Err(Error::netlist("goto needs a label", Some(&loc)));
                };
                if name.contains('$') {
                    return Err(Error::netlist(
                        "goto to a label held in a variable is not supported",
                        Some(&loc),
                    ));
                }
                gotos.push((name.to_ascii_lowercase(), cur_block(&open), pc, loc));
                sc.code.push(Ins::Jump(0));
            }
            _ => {
                let k = stmt(&mut sc, w);
                sc.code.push(Ins::Cmd(k));
            }
        }
    }
    if let Some(o) = open.last() {
        return Err(Error::netlist(
            "this block has no 'end' before .endc",
            Some(&o.loc),
        ));
    }
    for (name, block, at, loc) in gotos {
        // the label must be in the goto's block or one enclosing it (no jumping into a loop)
        let mut b = block;
        let target = loop {
            if let Some((_, _, pc)) = labels.iter().find(|(n, lb, _)| *n == name && *lb == b) {
                break Some(*pc);
            }
            if b == 0 {
                break None;
            }
            b = parent[b];
        };
        match target {
            Some(pc) => sc.code[at] = Ins::Jump(pc),
            None => {
                return Err(Error::netlist(
                    format!("goto {name}: no label {name} in this block or one enclosing it"),
                    Some(&loc),
                ));
            }
        }
    }
    Ok(sc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::source::extract;

    fn prog(body: &str) -> Result<Script> {
        compile(&extract(&format!("t\n.control\n{body}\n.endc\n"), "d.cir")?)
    }

    #[test]
    fn blocks_must_close() {
        assert!(prog("while 1\necho").is_err());
        assert!(prog("end").is_err());
        assert!(prog("else").is_err());
        assert!(prog("if 1\nelse\nelse\nend").is_err());
        assert!(prog("break").is_err());
        assert!(prog("while 1\nbreak 2\nend").is_err());
        assert!(prog("if 1\nlabel a\nend\ngoto a").is_err());
        assert!(prog("label a\nif 1\ngoto a\nend").is_ok());
    }

    #[test]
    fn deep_nesting_needs_no_recursion() {
        let n = 20_000;
        let body = format!("{}echo x\n{}", "if 1\n".repeat(n), "end\n".repeat(n));
        let s = prog(&body).unwrap();
        assert_eq!(s.code.len(), n + 1);
    }
}
