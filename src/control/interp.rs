//! Running a compiled control block: variables, plots, the commands, and the loop over the
//! program's instructions.

use super::engine::{Alter, Analysis, AnalysisKind, Engine};
use super::expr::{self, Defs, Env, Val};
use super::funcs;
use super::lookup::{vec_fromplot, vec_get};
use super::print::{self, PrintOpts};
use super::script::{Ins, Script, Stmt};
use super::source::{expand_braces, unquote};
use super::vars::{self, Lookup, Var, Vars};
use super::vector::{Data, Plots, VType, Vector};
use super::{CResult, CtlError};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Most words one brace expansion may produce.
const MAX_BRACE_WORDS: usize = 100_000;

/// How a control block ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to its end.
    Finished,
    /// `quit` or `exit`.
    Quit,
}

enum Slot {
    Repeat(Option<u64>),
    Foreach(Vec<String>, usize),
}

/// The interpreter's state: variables, plots, user functions, the random generator.
pub struct Interp<'e> {
    engine: &'e mut dyn Engine,
    /// The deck, for names of figure files and for resolving `altermod ... file=`.
    deck: PathBuf,
    pub vars: Vars,
    pub plots: Plots,
    defs: Defs,
    fx: funcs::Ctx,
    date: String,
    figures: usize,
    /// Where relative file names of `wrdata`, `write`, `plot` and `>` go (the process's
    /// working directory when `None`, as in ngspice).
    dir: Option<PathBuf>,
    /// `set numdgt`: kept after `unset numdgt`, as ngspice keeps it.
    numdgt: usize,
    /// Most instructions a block may run (none: as many as it takes, as ngspice).
    step_limit: Option<u64>,
    /// For `rusage`: when the interpreter started, and the time spent in analyses.
    started: std::time::Instant,
    analysis_secs: f64,
    /// The netlist's `.csparam` vectors are in `const` (done at the first `run`).
    csparams_loaded: bool,
    /// `fourier` commands that completed, plus one (the `M` of the vectors `fourierMN`).
    fourier_calls: usize,
}

/// A command's error before it gets the statement's location.
type Cr<T> = CResult<T>;

fn at(e: CtlError, st: &Stmt) -> Error {
    e.at(&st.loc)
}

/// The view of the plots that `$&vec` and `$curplot` read.
struct PlotVars<'a>(&'a Plots);

impl Lookup for PlotVars<'_> {
    fn vector_values(&self, name: &str) -> Option<Vec<f64>> {
        let v = vec_get(self.0, name)?;
        v.first().map(|v| v.vec.data.real_parts())
    }
    fn plot_var(&self, name: &str) -> Option<Var> {
        let p = self.0.cur();
        Some(match name {
            "curplot" => Var::Str(p.typename.clone()),
            "curplotname" => Var::Str(p.name.clone()),
            "curplottitle" => Var::Str(p.title.clone()),
            "curplotdate" => Var::Str(p.date.clone()),
            "plots" => Var::List(self.0.typenames().into_iter().map(Var::Str).collect()),
            _ => return None,
        })
    }
}

struct EvalEnv<'a> {
    plots: &'a Plots,
    engine: &'a mut dyn Engine,
    fx: &'a mut funcs::Ctx,
}

impl Env for EvalEnv<'_> {
    fn lookup(&mut self, name: &str) -> CResult<Option<Vec<Val>>> {
        if let Some(v) = vec_get(self.plots, name) {
            return Ok(Some(v));
        }
        let Some(spec) = name.strip_prefix('@') else {
            return Ok(None);
        };
        let (dev, param) = match spec.split_once('[') {
            Some((d, p)) => (d, Some(p.trim_end_matches(']'))),
            None => (spec, None),
        };
        let vals = self
            .engine
            .device_param(dev, param)
            // reported at the control line that asked, as the expression's other errors
            .map_err(|e| CtlError::Msg(e.msg))?;
        Ok(Some(vec![Val {
            vec: Vector::real(name, VType::NoType, vals),
            plot: self.plots.cur().id,
        }]))
    }
    fn lookup_cur(&mut self, name: &str) -> Option<Val> {
        vec_fromplot(self.plots, self.plots.cur().id, name).and_then(|mut v| {
            if v.is_empty() {
                None
            } else {
                Some(v.remove(0))
            }
        })
    }
    fn scale(&self, plot: u64) -> Option<Vector> {
        self.plots.by_id(plot)?.scale_vec().cloned()
    }
    fn cur_plot(&self) -> u64 {
        self.plots.cur().id
    }
    fn fctx(&mut self) -> &mut funcs::Ctx {
        self.fx
    }
}

/// Commands of ngspice's control language that neurospice does not run, with the reason.
fn unsupported(cmd: &str) -> Option<&'static str> {
    Some(match cmd {
        "shell" | "!" => "it runs no shell commands",
        "source" | "load" | "cd" | "codemodel" | "osdi" | "mc_source" => {
            "it reads no other files from a control block (put the netlist's parts in the deck or use .include)"
        }
        "interpolate" | "cutout" | "transpose" | "psd" => {
            "this post-processing command is not supported by neurospice"
        }
        "noise" | "pz" | "tf" | "sens" | "disto" | "sp" | "pss" | "sens2" => {
            "this analysis is not supported by neurospice"
        }
        "stop" | "trace" | "iplot" | "step" | "resume" | "delete" | "status" | "where" => {
            "interactive debugging commands are not supported in batch runs"
        }
        "show" | "showmod" | "listing" | "inventory" | "devhelp" | "version" | "rusage"
        | "sysinfo" | "history" | "alias" | "unalias" | "edit" | "bug" | "help" | "asciiplot"
        | "xgraph" | "remcirc" | "circbyline" | "snsave" | "snload" | "edisplay" | "eprint"
        | "eprvcd" | "shift" | "rehash" | "state" | "aspice" | "jobs" | "rspice" => {
            "this command is not supported by neurospice"
        }
        _ => return None,
    })
}

/// Warnings of a command, each as `warning: file:line: text` on stderr.
fn warn_all(err: &mut dyn Write, st: &Stmt, warnings: &[String]) -> Cr<()> {
    for w in warnings {
        writeln!(err, "warning: {}:{}: {w}", st.loc.file, st.loc.line)
            .map_err(|e| format!("cannot write to stderr: {e}"))?;
    }
    Ok(())
}

/// `[` numbers `]` of an alter vector value.
fn alter_vector(words: &[String]) -> Cr<Vec<f64>> {
    let mut out = Vec::new();
    for w in words {
        let w = w.trim_matches(|c| c == '[' || c == ']');
        if w.is_empty() {
            continue;
        }
        match crate::netlist::number::parse_number(w) {
            Some(v) => out.push(v),
            None => return Err(format!("'{w}' in [ ... ] is not a number").into()),
        }
    }
    if out.is_empty() {
        return Err("[ ] holds no number".into());
    }
    Ok(out)
}

impl<'e> Interp<'e> {
    /// An interpreter for the deck at `deck` (used to name figure files and find files that
    /// `altermod` reads), running analyses on `engine`. `date` stamps the plots it makes
    /// itself (ngspice's `Date:` format, e.g. from [`super::date_now`]).
    pub fn new(engine: &'e mut dyn Engine, deck: &Path, date: &str) -> Interp<'e> {
        Interp {
            engine,
            deck: deck.to_path_buf(),
            vars: Vars::default(),
            plots: Plots::new(date),
            defs: Defs::default(),
            fx: funcs::Ctx::new(1),
            date: date.to_string(),
            figures: 0,
            dir: None,
            numdgt: 6,
            step_limit: None,
            started: std::time::Instant::now(),
            analysis_secs: 0.0,
            csparams_loaded: false,
            fourier_calls: 1,
        }
    }

    /// Stops a block after `steps` instructions with an error (a guard for generated or
    /// fuzzed input; decks run unlimited, as in ngspice).
    pub fn set_step_limit(&mut self, steps: u64) {
        self.step_limit = Some(steps);
    }

    /// Resolves relative output file names against `dir` instead of the working directory.
    pub fn set_dir(&mut self, dir: &Path) {
        self.dir = Some(dir.to_path_buf());
    }

    fn path(&self, name: &str) -> PathBuf {
        let p = Path::new(name);
        match &self.dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p.to_path_buf(),
        }
    }

    fn env(&mut self) -> EvalEnv<'_> {
        EvalEnv {
            plots: &self.plots,
            engine: &mut *self.engine,
            fx: &mut self.fx,
        }
    }

    /// Variable substitution and brace expansion of a statement's words.
    fn expand(&self, words: &[String]) -> Cr<Vec<String>> {
        let w = vars::substitute(words, &self.vars, &PlotVars(&self.plots))?;
        let mut out = Vec::with_capacity(w.len());
        for x in &w {
            out.extend(expand_braces(x, MAX_BRACE_WORDS)?);
        }
        Ok(out)
    }

    fn eval_text(&mut self, text: &str, check: bool) -> Cr<Vec<Val>> {
        let e = expr::parse_one(text, &self.defs)?;
        expr::eval(&e, &mut self.env(), check)
    }

    /// The truth of a condition: some element of the result is not zero.
    fn truth(&mut self, st: &Stmt) -> Result<bool> {
        let w = self.expand(&st.words).map_err(|e| at(e, st))?;
        let vals = self.eval_text(&w.join(" "), true).map_err(|e| at(e, st))?;
        Ok(vals
            .iter()
            .any(|v| (0..v.vec.len()).any(|i| !v.vec.data.c(i).is_zero())))
    }

    /// Runs a compiled block; stdout-bound text goes to `out`, warnings to `err`.
    pub fn run(
        &mut self,
        sc: &Script,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Outcome> {
        if !self.csparams_loaded {
            self.csparams_loaded = true;
            let loc = sc.stmts.first().map(|s| s.loc.clone());
            let cs = self.engine.csparams().map_err(|e| Error {
                loc: e.loc.clone().or(loc),
                ..e
            })?;
            for (name, v) in cs {
                self.plots.list[0].put(Vector::real(name, VType::NoType, vec![v]));
            }
        }
        let mut slots: Vec<Slot> = (0..sc.slots).map(|_| Slot::Repeat(Some(0))).collect();
        let mut pc = 0;
        let io = |e: std::io::Error| Error::io(format!("cannot write the output: {e}"));
        let mut steps: u64 = 0;
        while pc < sc.code.len() {
            steps += 1;
            if let Some(limit) = self.step_limit
                && steps > limit
            {
                let loc = sc.stmts.first().map(|s| s.loc.clone());
                return Err(Error::netlist(
                    format!(
                        "the control block ran more than {limit} statements (a loop that never \
                         ends? raise the limit with --max-control-steps N if this is intended)"
                    ),
                    loc.as_ref(),
                ));
            }
            let next = pc + 1;
            pc = match &sc.code[pc] {
                Ins::Cmd(k) => {
                    let st = &sc.stmts[*k];
                    let quit = self.command(st, out, err)?;
                    if quit {
                        out.flush().map_err(io)?;
                        return Ok(Outcome::Quit);
                    }
                    next
                }
                Ins::IfFalse { cond, target } => {
                    if self.truth(&sc.stmts[*cond])? {
                        next
                    } else {
                        *target
                    }
                }
                Ins::IfTrue { cond, target } => {
                    if self.truth(&sc.stmts[*cond])? {
                        *target
                    } else {
                        next
                    }
                }
                Ins::Jump(t) => *t,
                Ins::RepeatInit { slot, count } => {
                    let n = match count {
                        None => None,
                        Some(c) => {
                            let st = &sc.stmts[*c];
                            let w = self.expand(&st.words).map_err(|e| at(e, st))?;
                            let first = w.first().map(String::as_str).unwrap_or("");
                            match vars::numparse(first) {
                                Some((v, _)) if v >= 0.0 && v.is_finite() => Some(v as u64),
                                _ => {
                                    return Err(Error::netlist(
                                        format!(
                                            "repeat takes a count of 0 or more, found '{first}'"
                                        ),
                                        Some(&st.loc),
                                    ));
                                }
                            }
                        }
                    };
                    slots[*slot] = Slot::Repeat(n);
                    next
                }
                Ins::RepeatNext { slot, exit } => match &mut slots[*slot] {
                    Slot::Repeat(None) => next,
                    Slot::Repeat(Some(0)) => *exit,
                    Slot::Repeat(Some(n)) => {
                        *n -= 1;
                        next
                    }
                    Slot::Foreach(..) => *exit,
                },
                Ins::ForeachInit { slot, list } => {
                    let st = &sc.stmts[*list];
                    let w = self.expand(&st.words).map_err(|e| at(e, st))?;
                    slots[*slot] = Slot::Foreach(w, 0);
                    next
                }
                Ins::ForeachNext { slot, var, exit } => match &mut slots[*slot] {
                    Slot::Foreach(list, i) if *i < list.len() => {
                        let v = list[*i].clone();
                        *i += 1;
                        self.vars.set(var, Var::Str(v));
                        next
                    }
                    _ => *exit,
                },
            };
            for w in self.fx.notes.drain(..) {
                writeln!(out, "{w}").map_err(io)?;
            }
            for w in self.fx.warnings.drain(..) {
                writeln!(err, "warning: {w}").map_err(io)?;
            }
        }
        out.flush().map_err(io)?;
        Ok(Outcome::Finished)
    }

    /// Runs one command; true for `quit`.
    fn command(&mut self, st: &Stmt, out: &mut dyn Write, err: &mut dyn Write) -> Result<bool> {
        let mut words = self.expand(&st.words).map_err(|e| at(e, st))?;
        if words.is_empty() {
            return Ok(false);
        }
        let cmd = words[0].to_ascii_lowercase();
        // output redirection, as ngspice: `print x > file`, `echo a >> log`
        let mut redirect: Option<(String, bool)> = None;
        if !matches!(cmd.as_str(), "define" | "stop") {
            if let Some(k) = words.iter().position(|w| w == "<") {
                let _ = k;
                return Err(Error::netlist(
                    "input redirection '<' is not supported",
                    Some(&st.loc),
                ));
            }
            if let Some(k) = words.iter().position(|w| w == ">") {
                let append = words.get(k + 1).is_some_and(|w| w == ">");
                let fi = if append { k + 2 } else { k + 1 };
                let Some(file) = words.get(fi).cloned() else {
                    return Err(Error::netlist(
                        "'>' needs a file name (write 'gt' for a comparison)",
                        Some(&st.loc),
                    ));
                };
                if cmd == "let" {
                    let _ = writeln!(
                        err,
                        "warning: {}:{}: '>' sends the output of let to the file '{file}' as in ngspice; write 'gt' for a comparison",
                        st.loc.file, st.loc.line
                    );
                }
                words.drain(k..=fi);
                redirect = Some((unquote(&file), append));
            }
        }
        let mut buf: Vec<u8> = Vec::new();
        let target: &mut dyn Write = if redirect.is_some() { &mut buf } else { out };
        let quit = self
            .dispatch(&cmd, &words, st, target, err)
            .map_err(|e| at(e, st))?;
        if let Some((file, append)) = redirect {
            let path = &self.path(&file);
            let mut content = if append {
                std::fs::read(path).unwrap_or_default()
            } else {
                Vec::new()
            };
            content.extend_from_slice(&buf);
            crate::io::atomic::write_atomic(path, |w| w.write_all(&content))
                .map_err(|e| e.with_loc(Some(&st.loc)))?;
        }
        Ok(quit)
    }

    fn dispatch(
        &mut self,
        cmd: &str,
        words: &[String],
        st: &Stmt,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Cr<bool> {
        let args = &words[1..];
        let io = |e: std::io::Error| CtlError::Msg(format!("cannot write the output: {e}"));
        match cmd {
            "echo" => {
                let (nl, a) = match args.first() {
                    Some(f) if f == "-n" => (false, &args[1..]),
                    _ => (true, args),
                };
                let text: Vec<String> = a.iter().map(|w| unquote(w)).collect();
                write!(out, "{}", text.join(" ")).map_err(io)?;
                if nl {
                    writeln!(out).map_err(io)?;
                }
            }
            "let" => self.cmd_let(args, out)?,
            "unlet" => {
                for n in args {
                    if !self.plots.cur_mut().remove(n) {
                        writeln!(err, "warning: unlet: no vector {n} in the current plot")
                            .map_err(io)?;
                    }
                }
            }
            "print" => {
                let (col, rest) = match args.first().map(String::as_str) {
                    Some("col") => (Some(true), &args[1..]),
                    Some("line") => (Some(false), &args[1..]),
                    _ => (None, args),
                };
                let vals = self.eval_list(rest)?;
                let o = self.print_opts();
                out.write_all(print::print(&vals, col, &self.plots, &o).as_bytes())
                    .map_err(io)?;
            }
            "set" | "setcs" => self.cmd_set(args, out)?,
            "unset" => {
                for n in args {
                    let n = n.to_ascii_lowercase();
                    match n.as_str() {
                        "units" => self.fx.degrees = false,
                        "dpolydegree" => self.fx.deriv_degree = 2,
                        "specwindow" => self.fx.window = "none".into(),
                        "specwindoworder" => self.fx.window_order = 2,
                        _ => {}
                    }
                    self.vars.unset(&n);
                }
            }
            "define" => self.cmd_define(args, out)?,
            "undefine" => {
                for n in args {
                    let n = n.to_ascii_lowercase();
                    self.defs.map.retain(|(k, _), _| *k != n);
                }
            }
            "setplot" => match args.first() {
                None => out
                    .write_all(print::plot_list(&self.plots).as_bytes())
                    .map_err(io)?,
                Some(n) if n == "new" => {
                    self.plots.add_new(&self.date);
                }
                Some(n) => {
                    if !self.plots.set_cur(n) {
                        return Err(format!("setplot: no plot named {n}").into());
                    }
                }
            },
            "destroy" => {
                if args.is_empty() {
                    let id = self.plots.cur().id;
                    self.plots.destroy(id);
                }
                for n in args {
                    if n == "all" {
                        let ids: Vec<u64> = self.plots.list.iter().map(|p| p.id).collect();
                        for id in ids {
                            self.plots.destroy(id);
                        }
                    } else {
                        match self.plots.find(n) {
                            Some(id) => self.plots.destroy(id),
                            None => return Err(format!("destroy: no plot named {n}").into()),
                        }
                    }
                }
            }
            "display" => {
                if !args.is_empty() {
                    return Err("display with vector names is not supported; use print".into());
                }
                out.write_all(print::display(&self.plots).as_bytes())
                    .map_err(io)?;
            }
            "op" | "dc" | "tran" | "ac" | "run" => {
                let kind = match cmd {
                    "op" => AnalysisKind::Op,
                    "dc" => AnalysisKind::Dc,
                    "tran" => AnalysisKind::Tran,
                    "ac" => AnalysisKind::Ac,
                    _ => AnalysisKind::Run,
                };
                let t0 = std::time::Instant::now();
                let plots = self.engine.analyze(&Analysis {
                    kind,
                    args,
                    loc: &st.loc,
                });
                self.analysis_secs += t0.elapsed().as_secs_f64();
                for w in self.engine.take_warnings() {
                    writeln!(err, "warning: {w}").map_err(io)?;
                }
                let plots = plots?;
                let dot = self.engine.dot_meas();
                for mut p in plots {
                    if p.date.is_empty() {
                        p.date = self.date.clone();
                    }
                    let name = p.name.clone();
                    self.plots.add(p);
                    self.dot_measures(&dot, &name, out, err)?;
                }
            }
            "reset" => self.engine.reset(&st.loc)?,
            "alter" | "altermod" => self.cmd_alter(cmd == "altermod", args, st)?,
            "option" | "options" | "opt" => {
                if args.is_empty() {
                    return Err(
                        "option without arguments (listing the options) is not supported".into(),
                    );
                }
                self.engine.option(args, &st.loc)?;
            }
            "save" => self.engine.save(args, &st.loc)?,
            "setseed" => {
                let n = args
                    .first()
                    .and_then(|w| vars::numparse(w))
                    .map(|(v, _)| v)
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or("setseed takes a seed, a whole number of 0 or more")?;
                self.fx.reseed(n as u64);
                self.engine.seed(n as u64);
            }
            "quit" | "exit" => return Ok(true),
            "wrs2p" => {
                // ngspice writes a Touchstone file from the vectors S_1_1 ... S_2_2 of the
                // current plot, and only warns when one is missing (then nothing is written)
                let missing = ["s_1_1", "s_2_1", "s_1_2", "s_2_2"]
                    .into_iter()
                    .find(|n| self.plots.cur().get(n).is_none_or(|v| v.is_empty()));
                match missing {
                    Some(n) => writeln!(
                        err,
                        "warning: {}:{}: wrs2p: vector {} is not available or has zero length; nothing written (as ngspice)",
                        st.loc.file,
                        st.loc.line,
                        n.to_ascii_uppercase()
                    )
                    .map_err(io)?,
                    None => {
                        return Err(
                            "'wrs2p' is not supported by neurospice: writing Touchstone files is not supported"
                                .into(),
                        );
                    }
                }
            }
            "wrdata" => self.cmd_wrdata(args)?,
            "write" => self.cmd_write(args, out)?,
            "meas" | "measure" => {
                let globals = self.engine.params();
                super::measure::run(args, &st.loc, &mut self.plots, &globals, out, err)?;
            }
            "plot" | "gnuplot" | "hardcopy" => self.cmd_plot(cmd, args, err)?,
            "strcmp" => {
                let [var, a, b] = args else {
                    return Err("strcmp takes a variable and two strings".into());
                };
                let c = unquote(a).cmp(&unquote(b)) as i32;
                self.vars
                    .set(&var.to_ascii_lowercase(), Var::Real(f64::from(c)));
            }
            "settype" => {
                let Some((t, vecs)) = args.split_first() else {
                    return Err("settype takes a type and vectors".into());
                };
                let vt =
                    VType::from_name(t).ok_or_else(|| format!("settype: no vector type {t}"))?;
                for n in vecs {
                    let Some(v) = vec_get(&self.plots, n).filter(|v| v.len() == 1) else {
                        return Err(format!("settype: no vector {n}").into());
                    };
                    let (id, name) = (v[0].plot, v[0].vec.name.clone());
                    if let Some(v) = self.plots.vec_mut(id, &name) {
                        v.vtype = vt;
                    }
                }
            }
            "compose" => self.cmd_compose(args)?,
            "linearize" => self.cmd_linearize(args, st, err)?,
            "fft" | "spec" => self.cmd_spectrum(cmd, args, st, out, err)?,
            "fourier" => self.cmd_fourier(args, st, out, err)?,
            "rusage" => {
                let el = self.started.elapsed().as_secs_f64();
                writeln!(
                    out,
                    "Total analysis time (seconds) = {:.3}",
                    self.analysis_secs
                )
                .map_err(io)?;
                writeln!(out, "Total elapsed time (seconds) = {el:.3} ").map_err(io)?;
            }
            "setscale" => match args {
                [] => {
                    let s = self.plots.cur().scale.clone().unwrap_or_default();
                    writeln!(out, "{s}").map_err(io)?;
                }
                [v] => {
                    let p = self.plots.cur_mut();
                    match p.get(v).map(|x| x.name.clone()) {
                        Some(n) => p.scale = Some(n),
                        None => return Err(format!("setscale: no vector {v}").into()),
                    }
                }
                _ => return Err("setscale takes one vector".into()),
            },
            _ => {
                if let Some(why) = unsupported(cmd) {
                    return Err(format!("'{cmd}' is not supported by neurospice: {why}").into());
                }
                return Err(format!("unknown control command '{cmd}'").into());
            }
        }
        Ok(false)
    }

    /// The netlist's `.meas` cards of the analysis that made the plot `name`, taken on it.
    fn dot_measures(
        &mut self,
        dot: &[(String, crate::error::Loc)],
        name: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Cr<()> {
        let stem = super::vector::abbrev(name);
        let mine: Vec<&(String, crate::error::Loc)> = dot
            .iter()
            .filter(|(t, _)| {
                t.split_whitespace()
                    .nth(1)
                    .is_some_and(|a| a.eq_ignore_ascii_case(stem))
            })
            .collect();
        if mine.is_empty() {
            return Ok(());
        }
        let io = |e: std::io::Error| CtlError::Msg(format!("cannot write the output: {e}"));
        let globals = self.engine.params();
        let cards: Vec<(Vec<String>, &crate::error::Loc)> = mine
            .iter()
            .map(|(text, loc)| {
                let words = text
                    .to_ascii_lowercase()
                    .split_whitespace()
                    .skip(1)
                    .map(String::from)
                    .collect();
                (words, loc)
            })
            .collect();
        if stem == "tran" && (self.vars.is_set("autostop") || self.engine.autostop()) {
            self.autostop(&cards, &globals)?;
        }
        write!(out, "\n  Measurements for {name}\n\n").map_err(io)?;
        for (words, loc) in &cards {
            super::measure::run(words, loc, &mut self.plots, &globals, out, err)?;
        }
        writeln!(out).map_err(io)?;
        Ok(())
    }

    /// ngspice's `autostop` (`.option autostop` or `set autostop`): the transient stops at
    /// the first time point at which every `.meas` card of it can be taken, and the cards are
    /// then taken on the run up to there (a `FALL=LAST` finds the last fall before the stop).
    /// Found afterwards here: the current plot is cut to the fewest points on which all the
    /// cards succeed (taking a measure on more points never undoes it, so a bisection finds
    /// them); if they never all succeed the run is kept whole, as ngspice runs to the end.
    fn autostop(
        &mut self,
        cards: &[(Vec<String>, &crate::error::Loc)],
        globals: &[(String, f64)],
    ) -> Cr<()> {
        let full = self.plots.cur().clone();
        let n = full.scale_vec().map_or(0, |v| v.len());
        let passes = |this: &mut Self, k: usize| -> Cr<bool> {
            *this.plots.cur_mut() = super::measure::truncated(&full, k);
            let (mut o, mut e) = (std::io::sink(), std::io::sink());
            for (words, loc) in cards {
                if !super::measure::run(words, loc, &mut this.plots, globals, &mut o, &mut e)? {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        if n < 2 || !passes(self, n)? {
            *self.plots.cur_mut() = full;
            return Ok(());
        }
        let (mut lo, mut hi) = (1, n); // passes(hi), not passes(lo) is assumed for lo = 1
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if passes(self, mid)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        *self.plots.cur_mut() = super::measure::truncated(&full, hi);
        Ok(())
    }

    fn print_opts(&self) -> PrintOpts {
        let d = PrintOpts::default();
        let n = |k: &str, def: usize| {
            self.vars
                .num(k)
                .filter(|v| v.is_finite() && *v >= 0.0 && *v < 1e6)
                .map_or(def, |v| v as usize)
        };
        PrintOpts {
            width: n("width", d.width),
            height: n("height", d.height),
            nobreak: self.vars.is_set("nobreak") || self.vars.is_set("nopage"),
            noprintscale: self.vars.is_set("noprintscale"),
            numdgt: self.numdgt,
        }
    }

    /// Evaluates the expressions of `words` (`print`, `wrdata`, `write`, `plot`).
    fn eval_list(&mut self, words: &[String]) -> Cr<Vec<Val>> {
        if words.is_empty() {
            return Ok(vec![]);
        }
        let list = expr::parse_list(&words.join(" "), &self.defs)?;
        let mut vals = Vec::new();
        for e in &list {
            vals.extend(expr::eval(e, &mut self.env(), true)?);
        }
        Ok(vals)
    }

    fn cmd_let(&mut self, args: &[String], out: &mut dyn Write) -> Cr<()> {
        if args.is_empty() {
            out.write_all(print::display(&self.plots).as_bytes())
                .map_err(|e| format!("cannot write the output: {e}"))?;
            return Ok(());
        }
        let text = args.join(" ");
        let Some((lhs, rhs)) = text.split_once('=') else {
            return Err(format!("let {text}: expected name = expression").into());
        };
        let lhs = lhs.trim();
        let (name, index) = match lhs.split_once('[') {
            Some((n, i)) => {
                let i = i
                    .trim_end()
                    .strip_suffix(']')
                    .ok_or_else(|| format!("let {lhs}: missing ']'"))?;
                if i.contains('[') || i.contains(',') {
                    return Err(format!(
                        "let {lhs}: only one index is supported (vectors are one-dimensional)"
                    )
                    .into());
                }
                (n.trim(), Some(i.to_string()))
            }
            None => (lhs, None),
        };
        if name.is_empty() || name.eq_ignore_ascii_case("all") || name.contains('@') {
            return Err(format!("let: '{name}' cannot be a vector name").into());
        }
        if rhs.trim().is_empty() {
            return Err(format!("let {name} = needs an expression").into());
        }
        let mut vals = self.eval_text(rhs, true)?;
        if vals.len() > 1 {
            self.fx
                .warn(format!("let {name}: extra wildcard values ignored"));
        }
        let t = vals.swap_remove(0).vec;
        // an existing vector (of the current plot, else of const, or of the plot named in
        // `plot.name`) is changed where it is; a new one goes to the current plot
        let target: Option<(u64, String)> = match vec_get(&self.plots, name) {
            Some(v) if v.len() == 1 => Some((v[0].plot, v[0].vec.name.clone())),
            _ => None,
        };
        let Some(i) = index else {
            match target {
                Some((id, vname)) => {
                    if let Some(v) = self.plots.vec_mut(id, &vname) {
                        v.vtype = t.vtype;
                        v.data = t.data;
                    }
                }
                None => self.plots.cur_mut().put(Vector {
                    name: name.to_string(),
                    vtype: t.vtype,
                    data: t.data,
                }),
            }
            return Ok(());
        };
        let iv = self.eval_text(&i, true)?;
        let iv = &iv[0].vec;
        if !iv.is_real() || iv.len() != 1 {
            return Err(format!("let {lhs}: the index is not a real scalar").into());
        }
        let j = (iv.data.re(0) + 0.5).floor();
        if j < 0.0 {
            return Err(format!("let {lhs}: negative index {j}").into());
        }
        let j = j as usize;
        if t.len() != 1 {
            return Err(format!(
                "let {lhs}: one element is indexed but the value has {}",
                t.len()
            )
            .into());
        }
        let Some(v) = target.and_then(|(id, vname)| self.plots.vec_mut(id, &vname)) else {
            return Err(
                format!("let {lhs}: no vector {name} (a new vector cannot be indexed)").into(),
            );
        };
        if j >= v.len() {
            return Err(format!(
                "let {lhs}: index {j} is beyond the {} elements of {name}",
                v.len()
            )
            .into());
        }
        match (&mut v.data, &t.data) {
            (Data::Real(d), Data::Real(s)) => d[j] = s[0],
            (Data::Complex(d), Data::Complex(s)) => d[j] = s[0],
            (Data::Complex(d), Data::Real(s)) => d[j] = s[0].into(),
            _ => {
                return Err(format!("let {lhs}: complex data cannot fill a real vector").into());
            }
        }
        Ok(())
    }

    fn cmd_set(&mut self, args: &[String], out: &mut dyn Write) -> Cr<()> {
        if args.is_empty() {
            let mut s = String::new();
            for (k, v) in self.vars.sorted() {
                match v {
                    Var::Bool => s.push_str(&format!("  {k}\n")),
                    Var::List(_) => s.push_str(&format!("  {k}\t( {} )\n", v.words().join(" "))),
                    _ => s.push_str(&format!("  {k}\t{}\n", v.words().join(" "))),
                }
            }
            out.write_all(s.as_bytes())
                .map_err(|e| format!("cannot write the output: {e}"))?;
            return Ok(());
        }
        for (name, val) in vars::parse_set(args)? {
            let text = || match &val {
                Var::Str(s) => Some(s.clone()),
                Var::Real(x) => Some(super::cfmt::g_upper(*x)),
                _ => None,
            };
            match name.to_ascii_lowercase().as_str() {
                "curplot" => {
                    let n = text().ok_or("set curplot needs a plot name")?;
                    if n == "new" {
                        self.plots.add_new(&self.date);
                    } else if !self.plots.set_cur(&n) {
                        return Err(format!("set curplot: no plot named {n}").into());
                    }
                    continue;
                }
                "curplotname" | "curplottitle" | "curplotdate" => {
                    let t = text().ok_or_else(|| format!("set {name} needs a value"))?;
                    let p = self.plots.cur_mut();
                    match name.as_str() {
                        "curplotname" => p.name = t,
                        "curplottitle" => p.title = t,
                        _ => p.date = t,
                    }
                    continue;
                }
                "plots" => return Err("the variable plots is read-only".into()),
                "units" => {
                    self.fx.degrees = text().is_some_and(|t| t.starts_with(['d', 'D']));
                }
                "specwindow" => {
                    self.fx.window = text().unwrap_or_else(|| "none".into()).to_ascii_lowercase();
                }
                "specwindoworder" => {
                    self.fx.window_order = val.as_f64().map_or(2, |v| v as i64);
                }
                "dpolydegree" => {
                    let d = val
                        .as_f64()
                        .filter(|d| *d >= 1.0 && *d <= 10.0)
                        .ok_or("dpolydegree takes a degree from 1 to 10")?;
                    self.fx.deriv_degree = d as usize;
                }
                "numdgt" => {
                    let d = val
                        .as_f64()
                        .filter(|d| *d >= 1.0 && *d <= 30.0)
                        .ok_or("numdgt takes a number of digits from 1 to 30")?;
                    self.numdgt = d.round() as usize;
                }
                "rndseed" => {
                    let s = val
                        .as_f64()
                        .filter(|s| *s >= 0.0)
                        .ok_or("rndseed takes a seed")?;
                    self.fx.reseed(s as u64);
                }
                _ => {}
            }
            self.vars.set(&name, val);
        }
        Ok(())
    }

    fn cmd_define(&mut self, args: &[String], out: &mut dyn Write) -> Cr<()> {
        let text = args.join(" ");
        let io = |e: std::io::Error| CtlError::Msg(format!("cannot write the output: {e}"));
        if !text.contains('(') {
            let mut defs: Vec<(&(String, usize), &expr::UserFn)> = self
                .defs
                .map
                .iter()
                .filter(|((n, _), _)| text.trim().is_empty() || *n == text.trim())
                .collect();
            defs.sort_by(|a, b| a.0.cmp(b.0));
            for ((n, _), u) in defs {
                writeln!(out, "{n} ({}) = {}", u.params.join(", "), u.body).map_err(io)?;
            }
            return Ok(());
        }
        let close = text
            .find(')')
            .ok_or_else(|| format!("define {text}: missing ')'"))?;
        let (name, params) = expr::parse_head(&text[..=close])?;
        let body = text[close + 1..].trim().to_string();
        if body.is_empty() {
            return Err(format!("define {name}: the function has no body").into());
        }
        if super::funcs::lookup(&name).is_some() || name == "v" {
            return Err(format!("define {name}: {name} is a built-in function").into());
        }
        // names of vectors that exist now are bound now, as ngspice binds them
        let mut frozen = Vec::new();
        for n in expr::free_names(&body)? {
            if let Some(v) = vec_get(&self.plots, &n)
                && let [one] = v.as_slice()
            {
                frozen.push(Vector {
                    name: n,
                    ..one.vec.clone()
                });
            }
        }
        self.defs.map.insert(
            (name, params.len()),
            expr::UserFn {
                params,
                body,
                frozen,
            },
        );
        Ok(())
    }

    fn cmd_alter(&mut self, model: bool, args: &[String], st: &Stmt) -> Cr<()> {
        if args.is_empty() {
            return Err(
                "usage: alter dev = value, alter dev param = value, alter @dev[param] = value"
                    .into(),
            );
        }
        if model
            && args
                .iter()
                .any(|w| w.to_ascii_lowercase().starts_with("file"))
        {
            return self.altermod_file(args, st);
        }
        // split at the first '=' (a word of its own or inside one)
        let mut lhs: Vec<String> = Vec::new();
        let mut rhs: Vec<String> = Vec::new();
        let mut seen = false;
        for w in args {
            if seen {
                rhs.push(w.clone());
            } else if let Some((a, b)) = w.split_once('=') {
                seen = true;
                if !a.is_empty() {
                    lhs.push(a.to_string());
                }
                if !b.is_empty() {
                    rhs.push(b.to_string());
                }
            } else {
                lhs.push(w.clone());
            }
        }
        if !seen {
            // ngspice's older form: alter dev value, alter dev param value, ... [ v1 v2 ]
            let start = match args.iter().position(|w| w.starts_with('[')) {
                Some(k) => k,
                None => args.len() - 1,
            };
            lhs = args[..start].to_vec();
            rhs = args[start..].to_vec();
        }
        let (dev, param) = match lhs.as_slice() {
            [one] if one.starts_with('@') => {
                let s = &one[1..];
                match s.split_once('[') {
                    Some((d, p)) => (d.to_string(), Some(p.trim_end_matches(']').to_string())),
                    None => (s.to_string(), None),
                }
            }
            [d] => (d.clone(), None),
            [d, p] => (d.clone(), Some(p.clone())),
            _ => {
                return Err(format!(
                    "alter {}: expected a device (and a parameter) before the value",
                    args.join(" ")
                )
                .into());
            }
        };
        if rhs.is_empty() {
            return Err(format!("alter {dev}: no value after '='").into());
        }
        let value = if rhs[0].starts_with('[') {
            alter_vector(&rhs)?
        } else {
            let v = self.eval_text(&rhs.join(" "), false)?;
            let v = &v[0].vec;
            if !v.is_real() {
                return Err(format!("alter {dev}: the value is complex").into());
            }
            v.data.real_parts()
        };
        self.engine.alter(&Alter {
            name: &dev.to_ascii_lowercase(),
            param: param.as_deref(),
            model,
            value: &value,
            loc: &st.loc,
        })?;
        Ok(())
    }

    /// `altermod m1 [m2 ...] file=path`: every parameter of each model's card in the file.
    fn altermod_file(&mut self, args: &[String], st: &Stmt) -> Cr<()> {
        let k = args
            .iter()
            .position(|w| w.to_ascii_lowercase().starts_with("file"))
            .unwrap_or(args.len());
        let models: Vec<String> = args[..k].iter().map(|m| m.to_ascii_lowercase()).collect();
        if models.is_empty() {
            return Err("altermod ... file: no model names before 'file'".into());
        }
        let rest = args[k..].join(" ");
        let name = rest[4..].trim_start().trim_start_matches('=').trim();
        let name = unquote(name);
        if name.is_empty() {
            return Err("altermod: no file name after 'file'".into());
        }
        let mut path = self.path(&name);
        if Path::new(&name).is_relative()
            && !path.exists()
            && let Some(dir) = self.deck.parent()
        {
            path = dir.join(&name);
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("altermod: cannot read '{}': {e}", path.display()))?;
        let cards = super::source::model_cards(&text);
        for m in &models {
            let Some(card) = cards.iter().find(|(n, _)| n == m) else {
                return Err(format!("altermod: no .model {m} in '{}'", path.display()).into());
            };
            for (param, value) in &card.1 {
                if param == "level" || param == "version" {
                    continue;
                }
                let v = self.eval_text(value, false).map_err(|e| match e {
                    CtlError::Msg(s) => CtlError::Msg(format!(
                        "altermod {m}: {param} = {value} in '{}': {s}",
                        path.display()
                    )),
                    f => f,
                })?;
                let vals = v[0].vec.data.real_parts();
                self.engine.alter(&Alter {
                    name: m,
                    param: Some(param),
                    model: true,
                    value: &vals,
                    loc: &st.loc,
                })?;
            }
        }
        Ok(())
    }

    /// `compose name values v1 v2 ...` or `compose name start= stop= step=` (also `lin=` with
    /// `start` and `stop` or `step`).
    fn cmd_compose(&mut self, args: &[String]) -> Cr<()> {
        let Some((name, rest)) = args.split_first() else {
            return Err("compose needs a vector name".into());
        };
        let num = |w: &str| -> Cr<f64> {
            vars::numparse(w)
                .filter(|(_, n)| *n == w.len())
                .map(|(v, _)| v)
                .ok_or_else(|| format!("compose {name}: '{w}' is not a number").into())
        };
        let values: Vec<f64> = if rest.first().is_some_and(|w| w == "values") {
            rest[1..].iter().map(|w| num(w)).collect::<Cr<Vec<f64>>>()?
        } else {
            let flat = rest.join(" ").replace('=', " = ");
            let t: Vec<&str> = flat.split_whitespace().collect();
            let (mut start, mut stop, mut step, mut lin) = (None, None, None, None);
            let mut k = 0;
            while k < t.len() {
                if t.get(k + 1) != Some(&"=") || k + 2 >= t.len() {
                    return Err(format!(
                        "compose {name}: expected parameter = value at '{}'",
                        t[k]
                    )
                    .into());
                }
                let v = num(t[k + 2])?;
                match t[k] {
                    "start" => start = Some(v),
                    "stop" => stop = Some(v),
                    "step" => step = Some(v),
                    "lin" => lin = Some(v),
                    p => {
                        return Err(format!(
                            "compose {name}: the parameter {p} is not supported (start, stop, step, lin)"
                        )
                        .into());
                    }
                }
                k += 3;
            }
            let count = |n: f64| -> Cr<usize> {
                if (1.0..=1e7).contains(&n) {
                    Ok(n as usize)
                } else {
                    Err(format!("compose {name}: {n} points").into())
                }
            };
            match (start, stop, step, lin) {
                (Some(a), Some(b), Some(mut h), None) => {
                    if h == 0.0 {
                        return Err(format!("compose {name}: step = 0").into());
                    }
                    if (b - a) * h < 0.0 {
                        h = -h;
                    }
                    let n = count(((b - a) / h + 1e-9).floor() + 1.0)?;
                    (0..n).map(|i| a + i as f64 * h).collect()
                }
                (Some(a), Some(b), None, Some(l)) => {
                    let n = count(l)?;
                    let h = if n > 1 { (b - a) / (n - 1) as f64 } else { 0.0 };
                    (0..n).map(|i| a + i as f64 * h).collect()
                }
                (Some(a), None, Some(h), Some(l)) => {
                    let n = count(l)?;
                    (0..n).map(|i| a + i as f64 * h).collect()
                }
                _ => {
                    return Err(format!(
                        "compose {name}: give start, stop and step, or lin with start and stop or step, or values"
                    )
                    .into());
                }
            }
        };
        if values.is_empty() {
            return Err(format!("compose {name}: no values").into());
        }
        self.plots
            .cur_mut()
            .put(Vector::real(name.as_str(), VType::NoType, values));
        Ok(())
    }

    /// `linearize [vec ...]`: the current transient plot on an even time grid, as a new plot.
    fn cmd_linearize(&mut self, args: &[String], st: &Stmt, err: &mut dyn Write) -> Cr<()> {
        let old = self.plots.cur();
        let mut warnings = Vec::new();
        let vecs = if args.is_empty() {
            None
        } else {
            let mut v = Vec::new();
            for w in args {
                match vec_fromplot(&self.plots, old.id, w) {
                    Some(found) => v.extend(found.into_iter().map(|x| x.vec)),
                    None => warnings.push(format!("linearize: no such vector {w}; left out")),
                }
            }
            Some(v)
        };
        let (np, more) = super::postproc::linearize(old, self.engine.tran_params(), vecs)?;
        warnings.extend(more);
        self.plots.add_as(np, "tran");
        warn_all(err, st, &warnings)
    }

    /// `fft vec ...` / `spec start stop step vec ...`: the spectra of the current plot's
    /// vectors as a new plot.
    fn cmd_spectrum(
        &mut self,
        cmd: &str,
        args: &[String],
        st: &Stmt,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Cr<()> {
        let window = self
            .vars
            .string("specwindow")
            .unwrap_or_else(|| "hanning".into());
        let order = self.vars.num("specwindoworder").map_or(2, |v| v as i64);
        let (freqs, exprs) = if cmd == "spec" {
            if args.len() < 3 {
                return Err("spec needs start, stop and step frequencies and vectors".into());
            }
            let mut f = [0.0; 3];
            for (k, w) in args[..3].iter().enumerate() {
                f[k] = vars::numparse(w)
                    .map(|(v, _)| v)
                    .ok_or_else(|| format!("spec: '{w}' is not a frequency"))?;
            }
            (Some((f[0], f[1], f[2])), &args[3..])
        } else {
            (None, args)
        };
        if exprs.is_empty() {
            return Err(format!("{cmd}: no vectors").into());
        }
        let vals = self.eval_list(exprs)?;
        // ngspice titles the spectrum after the newest plot
        let title = self
            .plots
            .list
            .last()
            .map(|p| p.title.clone())
            .unwrap_or_default();
        let plots = &self.plots;
        let typename = |id: u64| plots.by_id(id).map(|p| p.typename.clone());
        let cur = plots.cur();
        let cx = super::postproc::SpecCtx {
            window: &window,
            order,
            title: &title,
            date: &self.date,
            typename: &typename,
        };
        let made = match freqs {
            Some(f) => super::postproc::spec(cur, f, vals, &cx)?,
            None => super::postproc::fft(cur, vals, &cx)?,
        };
        let Some(s) = made else {
            return Err(format!("{cmd}: none of the vectors can be transformed").into());
        };
        out.write_all(s.text.as_bytes())
            .map_err(|e| format!("cannot write the output: {e}"))?;
        self.plots.add_as(s.plot, "sp");
        warn_all(err, st, &s.warnings)
    }

    /// `fourier fund vec ...`: the harmonics table of each vector, and its `fourierMN`.
    fn cmd_fourier(
        &mut self,
        args: &[String],
        st: &Stmt,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Cr<()> {
        let Some((f, exprs)) = args.split_first() else {
            return Err("fourier needs a fundamental frequency and vectors".into());
        };
        let fund = vars::numparse(f)
            .map(|(v, _)| v)
            .ok_or_else(|| format!("fourier: '{f}' is not a frequency"))?;
        let int_var = |name: &str, dflt: usize, min: f64| {
            self.vars
                .num(name)
                .filter(|v| *v >= min && v.is_finite())
                .map_or(dflt, |v| v as usize)
        };
        let o = super::postproc::FourierOpts {
            nfreqs: int_var("nfreqs", 10, 1.0),
            polydegree: int_var("polydegree", 1, 0.0),
            gridsize: int_var("fourgridsize", 200, 1.0),
            numdgt: self.numdgt,
        };
        let vals = self.eval_list(exprs)?;
        let (text, hs, warnings) = super::postproc::fourier(self.plots.cur(), fund, vals, o)?;
        out.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the output: {e}"))?;
        for (k, h) in hs.iter().enumerate() {
            let name = format!("fourier{}{}", self.fourier_calls, k + 1);
            self.plots
                .cur_mut()
                .put(super::postproc::fourier_vector(name, h));
        }
        self.fourier_calls += 1;
        warn_all(err, st, &warnings)
    }

    fn cmd_wrdata(&mut self, args: &[String]) -> Cr<()> {
        let Some(file) = args.first() else {
            return Err("wrdata needs a file name and vectors".into());
        };
        let vals = self.eval_list(&args[1..])?;
        if vals.is_empty() {
            return Err("wrdata: no vectors to write".into());
        }
        let pairs: Vec<(Val, Option<Vector>)> = vals
            .into_iter()
            .map(|v| {
                let s = self
                    .plots
                    .by_id(v.plot)
                    .and_then(|p| p.scale_vec().cloned());
                (v, s)
            })
            .collect();
        let text = print::wrdata(
            &pairs,
            self.vars.is_set("wr_singlescale"),
            self.vars.is_set("wr_vecnames"),
        )?;
        let path = &self.path(file);
        let mut content = if self.vars.is_set("appendwrite") {
            std::fs::read(path).unwrap_or_default()
        } else {
            Vec::new()
        };
        content.extend_from_slice(text.as_bytes());
        crate::io::atomic::write_atomic(path, |w| w.write_all(&content))?;
        Ok(())
    }

    fn cmd_write(&mut self, args: &[String], out: &mut dyn Write) -> Cr<()> {
        let file = args
            .first()
            .cloned()
            .unwrap_or_else(|| "rawspice.raw".into());
        let vals = if args.len() > 1 {
            self.eval_list(&args[1..])?
        } else {
            vec_get(&self.plots, "all").unwrap_or_default()
        };
        if vals.is_empty() {
            return Err("write: no vectors to write".into());
        }
        let ascii = match self.vars.string("filetype").as_deref() {
            Some("ascii") => true,
            Some("binary") | None => false,
            Some(other) => return Err(format!("write: unknown filetype '{other}'").into()),
        };
        // one raw plot per plot the vectors come from, the scale first
        let mut raws: Vec<crate::io::raw::RawPlot> = Vec::new();
        let mut order: Vec<u64> = Vec::new();
        for v in &vals {
            if !order.contains(&v.plot) {
                order.push(v.plot);
            }
        }
        let mut skipped = Vec::new();
        for id in order {
            let Some(p) = self.plots.by_id(id) else {
                continue;
            };
            let scale = p
                .scale_vec()
                .cloned()
                .ok_or_else(|| format!("write: the plot {} has no scale", p.typename))?;
            let mut cols: Vec<&Vector> = vec![&scale];
            for v in vals.iter().filter(|v| v.plot == id) {
                if v.vec.name.eq_ignore_ascii_case(&scale.name) {
                    continue;
                }
                if v.vec.len() != scale.len() {
                    skipped.push(format!("{} ({} points)", v.vec.name, v.vec.len()));
                    continue;
                }
                cols.push(&v.vec);
            }
            // a plot with a complex vector is written complex: every value as (re, im)
            let complex = cols.iter().any(|v| !v.is_real());
            let rows: Vec<Vec<f64>> = (0..scale.len())
                .map(|i| {
                    if complex {
                        cols.iter()
                            .flat_map(|v| {
                                let z = v.data.c(i);
                                [z.re, z.im]
                            })
                            .collect()
                    } else {
                        cols.iter().map(|v| v.data.re(i)).collect()
                    }
                })
                .collect();
            raws.push(crate::io::raw::RawPlot {
                title: p.title.clone(),
                date: p.date.clone(),
                plotname: p.name.clone(),
                flags: if complex { "complex" } else { "real" }.into(),
                // raw files name a voltage sweep's scale v(v-sweep), as ngspice's do
                names: cols
                    .iter()
                    .map(|v| {
                        if v.vtype == VType::Voltage && v.name.ends_with("-sweep") {
                            format!("v({})", v.name)
                        } else {
                            v.external_name()
                        }
                    })
                    .collect(),
                types: cols
                    .iter()
                    .map(|v| print::raw_type(v).to_string())
                    .collect(),
                rows,
            });
        }
        if !skipped.is_empty() {
            self.fx.warn(format!(
                "write {file}: not written, their length differs from the scale's: {}",
                skipped.join(", ")
            ));
        }
        let path = &self.path(&file);
        let mut bytes = if self.vars.is_set("appendwrite") {
            std::fs::read(path).unwrap_or_default()
        } else {
            Vec::new()
        };
        bytes.extend(crate::io::raw::to_bytes(&raws, ascii));
        crate::io::atomic::write_atomic(path, |w| w.write_all(&bytes))?;
        writeln!(
            out,
            "{} raw file \"{file}\"",
            if ascii { "ASCII" } else { "binary" }
        )
        .map_err(|e| format!("cannot write the output: {e}"))?;
        Ok(())
    }

    fn cmd_plot(&mut self, cmd: &str, args: &[String], err: &mut dyn Write) -> Cr<()> {
        let (path, rest): (PathBuf, &[String]) = match cmd {
            "plot" => {
                self.figures += 1;
                let stem = self
                    .deck
                    .file_stem()
                    .map_or("deck".to_string(), |s| s.to_string_lossy().into_owned());
                (self.path(&format!("{stem}_plot{}.svg", self.figures)), args)
            }
            _ => {
                let Some(f) = args.first() else {
                    return Err(format!("{cmd} needs a file name and vectors").into());
                };
                (self.path(f).with_extension("svg"), &args[1..])
            }
        };
        let spec = super::figure::parse_args(rest)?;
        let mut ys = Vec::new();
        let mut xs = Vec::new();
        for (words, vs) in &spec.groups {
            let y = self.eval_list(words)?;
            let x = match vs {
                Some(w) => Some(self.eval_list(std::slice::from_ref(w))?.swap_remove(0).vec),
                None => None,
            };
            xs.extend(std::iter::repeat_n(x, y.len()));
            ys.extend(y);
        }
        if ys.is_empty() {
            return Err(format!("{cmd}: no vectors to draw").into());
        }
        let scales: Vec<Option<Vector>> = ys
            .iter()
            .map(|v| {
                self.plots
                    .by_id(v.plot)
                    .and_then(|p| p.scale_vec().cloned())
            })
            .collect();
        super::figure::draw(&spec, &ys, &xs, &scales, &path)?;
        writeln!(err, "{cmd}: figure written to {}", path.display())
            .map_err(|e| format!("cannot write to stderr: {e}"))?;
        Ok(())
    }
}
