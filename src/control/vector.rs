//! Vectors and plots, ngspice's data model: a plot is the result of one analysis (or a plot
//! made with `set curplot = new`), holding named real or complex vectors and a scale (time,
//! frequency, sweep). One plot is current; `const` always exists and holds the constants.

use super::cx::C;
use std::cmp::Ordering;

/// The numbers of a vector.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Real(Vec<f64>),
    Complex(Vec<C>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::Real(v) => v.len(),
            Data::Complex(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn is_real(&self) -> bool {
        matches!(self, Data::Real(_))
    }
    /// Element `i` as a complex number.
    pub fn c(&self, i: usize) -> C {
        match self {
            Data::Real(v) => C::from(v[i]),
            Data::Complex(v) => v[i],
        }
    }
    /// Element `i`'s real part.
    pub fn re(&self, i: usize) -> f64 {
        match self {
            Data::Real(v) => v[i],
            Data::Complex(v) => v[i].re,
        }
    }
    /// Every element as a complex number.
    pub fn to_complex(&self) -> Vec<C> {
        match self {
            Data::Real(v) => v.iter().map(|&x| C::from(x)).collect(),
            Data::Complex(v) => v.clone(),
        }
    }
    /// Every element's real part.
    pub fn real_parts(&self) -> Vec<f64> {
        match self {
            Data::Real(v) => v.clone(),
            Data::Complex(v) => v.iter().map(|z| z.re).collect(),
        }
    }
    /// The elements `lo..=hi` (clamped by the caller).
    pub fn slice(&self, lo: usize, hi: usize) -> Data {
        match self {
            Data::Real(v) => Data::Real(v[lo..=hi].to_vec()),
            Data::Complex(v) => Data::Complex(v[lo..=hi].to_vec()),
        }
    }
}

/// What a vector measures (ngspice's vector types, as `display` and raw files name them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VType {
    #[default]
    NoType,
    Time,
    Frequency,
    Voltage,
    Current,
    Temperature,
    Impedance,
    Admittance,
    Power,
    Phase,
    Decibel,
    Capacitance,
    Charge,
    SParam,
    TempSweep,
    ResSweep,
}

impl VType {
    /// The name ngspice prints (`display`, raw file variable types).
    pub fn name(self) -> &'static str {
        match self {
            VType::NoType => "notype",
            VType::Time => "time",
            VType::Frequency => "frequency",
            VType::Voltage => "voltage",
            VType::Current => "current",
            VType::Temperature => "temperature",
            VType::Impedance => "impedance",
            VType::Admittance => "admittance",
            VType::Power => "power",
            VType::Phase => "phase",
            VType::Decibel => "decibel",
            VType::Capacitance => "capacitance",
            VType::Charge => "charge",
            VType::SParam => "s-param",
            VType::TempSweep => "temp-sweep",
            VType::ResSweep => "res-sweep",
        }
    }

    /// The type called `name` (`settype`).
    pub fn from_name(name: &str) -> Option<VType> {
        const ALL: [VType; 16] = [
            VType::NoType,
            VType::Time,
            VType::Frequency,
            VType::Voltage,
            VType::Current,
            VType::Temperature,
            VType::Impedance,
            VType::Admittance,
            VType::Power,
            VType::Phase,
            VType::Decibel,
            VType::Capacitance,
            VType::Charge,
            VType::SParam,
            VType::TempSweep,
            VType::ResSweep,
        ];
        ALL.into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

/// A named vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector {
    /// As ngspice stores it: nodes without `v()` (`out`, `x1.n3`), branch currents as
    /// `v1#branch`, the scale as `time`, `frequency`, `v-sweep`.
    pub name: String,
    pub vtype: VType,
    pub data: Data,
}

impl Vector {
    pub fn real(name: impl Into<String>, vtype: VType, v: Vec<f64>) -> Vector {
        Vector {
            name: name.into(),
            vtype,
            data: Data::Real(v),
        }
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn is_real(&self) -> bool {
        self.data.is_real()
    }
    /// The name as ngspice writes it to files and `print`s it after `all`: nodes as `v(out)`,
    /// branch currents as `i(v1)`.
    pub fn external_name(&self) -> String {
        if let Some(dev) = self.name.strip_suffix("#branch") {
            return format!("i({dev})");
        }
        if self.vtype == VType::Voltage && !self.name.contains('(') && !self.name.ends_with("sweep")
        {
            return format!("v({})", self.name);
        }
        self.name.clone()
    }
}

/// Numeric-aware name order (`v2` before `v10`), ngspice's `namecmp`, used to sort `all` and
/// `display`.
pub fn name_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        while i < a.len() && j < b.len() && a[i] == b[j] && !a[i].is_ascii_digit() {
            i += 1;
            j += 1;
        }
        if i >= a.len() {
            // ngspice stops at the end of the first name: a prefix compares equal
            return if j >= b.len() {
                Ordering::Equal
            } else {
                Ordering::Less
            };
        }
        if j >= b.len() {
            return Ordering::Greater;
        }
        if a[i] != b[j] && (!a[i].is_ascii_digit() || !b[j].is_ascii_digit()) {
            return a[i].cmp(&b[j]);
        }
        let num = |s: &[u8], k: &mut usize| {
            let mut n: u128 = 0;
            while *k < s.len() && s[*k].is_ascii_digit() {
                n = n
                    .saturating_mul(10)
                    .saturating_add(u128::from(s[*k] - b'0'));
                *k += 1;
            }
            n
        };
        let (x, y) = (num(a, &mut i), num(b, &mut j));
        if x != y {
            return x.cmp(&y);
        }
    }
}

/// One plot.
#[derive(Debug, Clone)]
pub struct Plot {
    /// Stable identity (plots can be destroyed; ids are never reused).
    pub id: u64,
    /// `tran1`, `ac2`, `const`, `unknown3`: what `setplot` and `name.vector` refer to.
    pub typename: String,
    /// `Transient Analysis`, `constants`, `unknown`.
    pub name: String,
    /// The circuit's title (`Anonymous` for a new plot).
    pub title: String,
    pub date: String,
    /// In creation order.
    pub vecs: Vec<Vector>,
    /// The scale vector's name, if any (the first vector created in a plot without one).
    pub scale: Option<String>,
    /// True for analysis results: `print` puts the scale in the first column.
    pub analysis: bool,
}

impl Plot {
    /// The vector named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Vector> {
        self.vecs.iter().find(|v| v.name.eq_ignore_ascii_case(name))
    }
    pub fn scale_vec(&self) -> Option<&Vector> {
        self.scale.as_deref().and_then(|s| self.get(s))
    }
    /// Adds or replaces a vector; the first vector of a plot without a scale becomes its scale.
    pub fn put(&mut self, v: Vector) {
        if self.scale.is_none() {
            self.scale = Some(v.name.clone());
        }
        match self
            .vecs
            .iter_mut()
            .find(|x| x.name.eq_ignore_ascii_case(&v.name))
        {
            Some(x) => *x = v,
            None => self.vecs.push(v),
        }
    }
    /// Removes a vector; returns whether it was there. A removed scale is replaced by the
    /// newest remaining vector (ngspice picks the head of its list).
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(k) = self
            .vecs
            .iter()
            .position(|x| x.name.eq_ignore_ascii_case(name))
        else {
            return false;
        };
        let gone = self.vecs.remove(k);
        if self
            .scale
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(&gone.name))
        {
            self.scale = self.vecs.last().map(|v| v.name.clone());
        }
        true
    }
    /// Vector names sorted as ngspice sorts them.
    pub fn sorted(&self) -> Vec<&Vector> {
        let mut v: Vec<&Vector> = self.vecs.iter().collect();
        v.sort_by(|a, b| name_cmp(&a.name, &b.name));
        v
    }
}

/// What an analysis produced, before it gets a place among the plots.
#[derive(Debug, Clone)]
pub struct NewPlot {
    /// `Transient Analysis`, `DC transfer characteristic`, `AC Analysis`, `Operating Point`.
    pub name: String,
    /// The circuit's title.
    pub title: String,
    pub date: String,
    /// The scale first (`time`, `frequency`, `v-sweep`); an operating point has none.
    pub vecs: Vec<Vector>,
    /// Whether the plot has dimensions in ngspice's sense (an analysis sweep): `print` then
    /// shows `vecs[0]`, the scale, as its first column. `vecs[0]` is the plot's scale either
    /// way (an operating point's first node; `linearize`'s time, a spectrum's frequency,
    /// which ngspice does not print).
    pub has_scale: bool,
}

/// ngspice's abbreviation of a plot name, the stem of its type name (`tran` of `tran3`).
pub fn abbrev(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "transient analysis" => "tran",
        "ac analysis" => "ac",
        "dc transfer characteristic" => "dc",
        "operating point" => "op",
        "noise spectral density curves" => "noise",
        "transfer function" => "tf",
        _ => "unknown",
    }
}

/// `pre` names `typename` as ngspice's `plot_prefix` sees it: `tran` matches `tran1`, but
/// `tran1` does not match `tran12`.
fn plot_prefix(pre: &str, typename: &str) -> bool {
    if pre.is_empty() {
        return true;
    }
    let (p, t) = (pre.as_bytes(), typename.as_bytes());
    let n = p.iter().zip(t).take_while(|(a, b)| a == b).count();
    if n < p.len() {
        return false;
    }
    !(t.len() > n && p[n - 1].is_ascii_digit())
}

/// Every plot, the current one, and the counter ngspice numbers new plots with.
#[derive(Debug, Clone)]
pub struct Plots {
    /// Oldest first; `const` is always `list[0]`.
    pub list: Vec<Plot>,
    cur: u64,
    next_id: u64,
    plot_num: usize,
}

impl Plots {
    /// The constant plot and nothing else, `date` for its header.
    pub fn new(date: &str) -> Plots {
        let c = |n: &str, x: f64| Vector::real(n, VType::NoType, vec![x]);
        let mut vecs = vec![
            c("yes", 1.0),
            c("TRUE", 1.0),
            c("FALSE", 0.0),
            c("no", 0.0),
            c("pi", std::f64::consts::PI),
            c("e", std::f64::consts::E),
            c("c", 299_792_458.0),
            c("kelvin", -273.15),
            c("echarge", 1.602_176_634e-19),
            c("boltz", 1.380_649e-23),
            c("planck", 6.626_070_15e-34),
        ];
        vecs.push(Vector {
            name: "i".into(),
            vtype: VType::NoType,
            data: Data::Complex(vec![C::new(0.0, 1.0)]),
        });
        let cst = Plot {
            id: 0,
            typename: "const".into(),
            name: "constants".into(),
            title: "Constant values".into(),
            date: date.to_string(),
            vecs,
            scale: Some("yes".into()),
            analysis: false,
        };
        Plots {
            list: vec![cst],
            cur: 0,
            next_id: 1,
            plot_num: 1,
        }
    }

    pub fn cur(&self) -> &Plot {
        self.list
            .iter()
            .find(|p| p.id == self.cur)
            .unwrap_or(&self.list[0])
    }
    pub fn cur_mut(&mut self) -> &mut Plot {
        let cur = self.cur;
        let k = self.list.iter().position(|p| p.id == cur).unwrap_or(0);
        &mut self.list[k]
    }
    pub fn by_id(&self, id: u64) -> Option<&Plot> {
        self.list.iter().find(|p| p.id == id)
    }
    /// The vector `name` of plot `id`, to change in place.
    pub fn vec_mut(&mut self, id: u64, name: &str) -> Option<&mut Vector> {
        self.list
            .iter_mut()
            .find(|p| p.id == id)?
            .vecs
            .iter_mut()
            .find(|v| v.name.eq_ignore_ascii_case(name))
    }
    pub fn constants(&self) -> &Plot {
        &self.list[0]
    }

    fn typename_for(&mut self, stem: &str) -> String {
        loop {
            let t = format!("{stem}{}", self.plot_num);
            if self
                .list
                .iter()
                .any(|p| p.typename.eq_ignore_ascii_case(&t))
            {
                self.plot_num += 1;
            } else {
                return t;
            }
        }
    }

    /// Adds an analysis result as the new current plot; returns its type name (`tran2`).
    pub fn add(&mut self, np: NewPlot) -> String {
        let stem = abbrev(&np.name);
        self.add_as(np, stem)
    }

    /// Adds a plot under the type-name stem `stem` (`sp` for a spectrum, `tran` for a
    /// linearized transient) as the new current plot; returns its type name.
    pub fn add_as(&mut self, np: NewPlot, stem: &str) -> String {
        let typename = self.typename_for(stem);
        // without a real scale the first vector is one anyway, as in ngspice (an operating
        // point's first node); `analysis` keeps `print` from putting it in a column
        let scale = np.vecs.first().map(|v| v.name.clone());
        let id = self.next_id;
        self.next_id += 1;
        self.list.push(Plot {
            id,
            typename: typename.clone(),
            name: np.name,
            title: np.title,
            date: np.date,
            vecs: np.vecs,
            scale,
            analysis: np.has_scale,
        });
        self.cur = id;
        typename
    }

    /// `set curplot = new`: an empty plot named `unknownN`, made current.
    pub fn add_new(&mut self, date: &str) -> String {
        self.add(NewPlot {
            name: "unknown".into(),
            title: "Anonymous".into(),
            date: date.into(),
            vecs: vec![],
            has_scale: false,
        })
    }

    /// The newest plot whose type name `name` designates (see [`plot_prefix`]).
    pub fn find(&self, name: &str) -> Option<u64> {
        self.list
            .iter()
            .rev()
            .find(|p| plot_prefix(name, &p.typename))
            .map(|p| p.id)
    }

    /// Makes the plot `name` current; false if there is none.
    pub fn set_cur(&mut self, name: &str) -> bool {
        match self.find(name) {
            Some(id) => {
                self.cur = id;
                true
            }
            None => false,
        }
    }

    /// Destroys a plot (never `const`); the current plot moves to the next older one.
    pub fn destroy(&mut self, id: u64) {
        if id == 0 {
            return;
        }
        let Some(k) = self.list.iter().position(|p| p.id == id) else {
            return;
        };
        self.list.remove(k);
        if self.cur == id {
            // ngspice's list runs newest first: the plot after the destroyed one is the next
            // older, here list[k - 1] (k >= 1 since const is list[0])
            self.cur = self.list[k - 1].id;
        }
    }

    /// The type names of every plot, oldest first (`$plots`).
    pub fn typenames(&self) -> Vec<String> {
        self.list.iter().map(|p| p.typename.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_with_numbers() {
        let mut v = vec!["v10", "v2", "a", "FALSE", "TRUE", "boltz"];
        v.sort_by(|a, b| name_cmp(a, b));
        assert_eq!(v, ["FALSE", "TRUE", "a", "boltz", "v2", "v10"]);
    }

    #[test]
    fn plot_names_are_numbered_as_ngspice() {
        let mut p = Plots::new("d");
        let np = |n: &str| NewPlot {
            name: n.into(),
            title: "t".into(),
            date: "d".into(),
            vecs: vec![],
            has_scale: false,
        };
        assert_eq!(p.add(np("Transient Analysis")), "tran1");
        assert_eq!(p.add(np("Operating Point")), "op1");
        assert_eq!(p.add(np("Transient Analysis")), "tran2");
        assert_eq!(p.add(np("DC transfer characteristic")), "dc2");
        assert_eq!(p.add_new("d"), "unknown2");
        assert!(plot_prefix("tran", "tran2"));
        assert!(!plot_prefix("tran1", "tran12"));
        assert_eq!(
            p.find("tran")
                .and_then(|id| p.by_id(id))
                .map(|p| p.typename.as_str()),
            Some("tran2")
        );
    }
}
